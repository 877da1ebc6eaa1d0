"""Writes on the CRM side. Keyword-only, typed and transactional; interfaces call these."""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import (
    Account,
    AccountUseCase,
    Activity,
    ChecklistItem,
    ChecklistProgress,
    Instance,
    Objective,
    Persona,
    Subscription,
    Tier,
    User,
)
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
    license_id: str = "",
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
            "license_id": license_id,
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


def activity_record(
    *,
    account: Account,
    kind: str,
    author: User | None,
    body: str = "",
    sentiment: str = "",
    ticket_count: int | None = None,
    personas: Sequence[Persona] = (),
    occurred_at: dt.datetime | None = None,
) -> Activity:
    """Add a note, meeting (with personas), sentiment or support-ticket count to the timeline."""
    if kind == Activity.Kind.SYSTEM:
        raise DomainError("System events are written by UsageHub itself.", field="kind")
    activity = validated_save(
        Activity(
            account=account,
            kind=kind,
            author=author,
            body=body.strip(),
            sentiment=sentiment,
            ticket_count=ticket_count,
            occurred_at=occurred_at or timezone.now(),
        )
    )
    if personas:
        if kind != Activity.Kind.MEETING:
            raise DomainError("Only meetings have attendees.", field="personas")
        activity.personas.set(personas)
    return activity


@transaction.atomic
def checklist_tick(
    *, link: AccountUseCase, item: ChecklistItem, done: bool, user: User | None
) -> None:
    """Tick or untick a manual checklist item; metric-driven items tick themselves."""
    if item.use_case_id != link.use_case_id:
        raise DomainError("This item belongs to another use case.", field="item")
    if item.kind != ChecklistItem.Kind.MANUAL:
        raise DomainError(
            "This item follows usage data; it cannot be ticked by hand.", field="item"
        )
    ChecklistProgress.objects.update_or_create(
        account_use_case=link, item=item, defaults={"done": done, "changed_by": user}
    )


@transaction.atomic
def use_case_override(*, link: AccountUseCase, status: str, reason: str, user: User | None) -> None:
    """Set a use case's status by hand (with a reason, recorded on the timeline), or clear
    the override with an empty status so the status follows the colour again."""
    if status and status not in AccountUseCase.Status.values:
        raise DomainError("Unknown status.", field="status")
    if status and not reason.strip():
        raise DomainError("Say why the status differs from what usage shows.", field="reason")
    link.override_status = status
    link.reason = reason.strip() if status else ""
    link.status = status or link.computed_status or AccountUseCase.Status.NOT_STARTED
    link.updated_by = user
    validated_save(
        link, update_fields=["override_status", "reason", "status", "updated_by", "updated_at"]
    )
    said = f"set to {link.get_status_display()}: {link.reason}" if status else "follows usage again"
    Activity.objects.create(
        account=link.account,
        kind=Activity.Kind.SYSTEM,
        author=user,
        occurred_at=timezone.now(),
        body=f"{link.use_case} status {said}",
        data={"use_case": link.use_case.key, "override": status},
    )
