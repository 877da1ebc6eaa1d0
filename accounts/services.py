"""Writes on the CRM side. Keyword-only, typed and transactional; interfaces call these."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Account, Instance, Objective, Subscription, Tier, User
from usagehub.errors import DomainError
from usagehub.upsert import upsert, validated_save


def account_upsert(
    *,
    crm_id: str,
    name: str,
    owner: User | None = None,
    priority: int = Account.Priority.MEDIUM,
    lifecycle_stage: str = Account.Lifecycle.ONBOARDING,
    customer_since: dt.date | None = None,
    strategy: str = "",
) -> tuple[Account, bool]:
    """Create or update the account with this CRM id; returns ``(account, changed)``."""
    return upsert(
        Account,
        lookup={"crm_id": crm_id.strip()},
        values={
            "name": name,
            "owner": owner,
            "priority": priority,
            "lifecycle_stage": lifecycle_stage,
            "customer_since": customer_since,
            "strategy": strategy,
        },
    )


def subscription_upsert(
    *,
    external_id: str,
    account: Account,
    plan: str = Tier.PREMIUM,
    licensed_seats: int,
    arr: Decimal,
    start_date: dt.date,
    renewal_date: dt.date,
) -> tuple[Subscription, bool]:
    return upsert(
        Subscription,
        lookup={"external_id": external_id.strip()},
        values={
            "account": account,
            "plan": plan,
            "licensed_seats": licensed_seats,
            "arr": Decimal(arr),
            "start_date": start_date,
            "renewal_date": renewal_date,
        },
    )


def instance_upsert(
    *,
    account: Account,
    uuid: str | None = None,
    namespace_id: str | None = None,
    subscription: Subscription | None = None,
    hostname: str = "",
    instance_type: str = Instance.Type.UNKNOWN,
    included_in_health: bool = True,
) -> tuple[Instance, bool]:
    """Create or update the instance with this uuid (self-managed) or namespace id (SaaS)."""
    if bool(uuid) == bool(namespace_id):
        raise DomainError("Give exactly one of uuid and namespace_id.", field="uuid")
    if subscription is not None and subscription.account_id != account.pk:
        raise DomainError("The subscription belongs to another account.", field="subscription")
    lookup: dict[str, Any] = {"uuid": uuid} if uuid else {"namespace_id": namespace_id}
    return upsert(
        Instance,
        lookup=lookup,
        values={
            "account": account,
            "subscription": subscription,
            "hostname": hostname,
            "instance_type": instance_type,
            "included_in_health": included_in_health,
        },
    )


OBJECTIVE_EDITABLE_FIELDS = frozenset(
    {
        "title",
        "category",
        "use_case",
        "owner",
        "priority",
        "status",
        "due_date",
        "baseline",
        "success_criteria",
        "metric_key_path",
        "comparison",
        "target_value",
        "last_validated_on",
    }
)


def _check_objective_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - OBJECTIVE_EDITABLE_FIELDS
    if unknown:
        raise DomainError("This field cannot be set here.", field=sorted(unknown)[0])
    if fields.get("status") in Objective.CLOSED_STATUSES:
        raise DomainError("Close an objective with its outcome summary instead.", field="status")


def objective_create(*, account: Account, title: str, **fields: Any) -> Objective:
    _check_objective_fields(fields)
    return validated_save(Objective(account=account, title=title, **fields))


@transaction.atomic
def objective_update(*, objective: Objective, **fields: Any) -> Objective:
    if objective.is_closed:
        raise DomainError("A closed objective cannot be edited.", field="status")
    _check_objective_fields(fields)
    for name, value in fields.items():
        setattr(objective, name, value)
    return validated_save(objective, update_fields=[*fields, "updated_at"])


@transaction.atomic
def objective_close(*, objective: Objective, status: str, outcome_summary: str) -> Objective:
    """Close as achieved, missed or abandoned; the outcome summary is what the team learns."""
    if status not in Objective.CLOSED_STATUSES:
        raise DomainError("Close as one of: achieved, missed, abandoned.", field="status")
    if not outcome_summary.strip():
        raise DomainError(
            "An outcome summary is required to close an objective.", field="outcome_summary"
        )
    if objective.is_closed:
        raise DomainError("This objective is already closed.", field="status", code="conflict")
    objective.status = status
    objective.outcome_summary = outcome_summary.strip()
    objective.closed_at = timezone.now()
    return validated_save(
        objective, update_fields=["status", "outcome_summary", "closed_at", "updated_at"]
    )
