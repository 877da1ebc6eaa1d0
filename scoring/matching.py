"""Mapping pings from unknown instances to an account, then scoring what was waiting."""

from django.db import transaction

from accounts.models import Account, Instance
from accounts.services import instance_upsert
from scoring.models import UsagePing
from scoring.recompute import recompute_mark


@transaction.atomic
def unmatched_pings_map(
    *,
    account: Account,
    instance_uuid: str | None = None,
    namespace_id: str | None = None,
    instance_type: str = Instance.Type.PRODUCTION,
) -> tuple[Instance, int]:
    """Create (or move) the instance on ``account``, attach its waiting pings, recompute.

    Returns the instance and how many pings it gained.
    """
    latest = (
        UsagePing.objects.filter(instance_uuid=instance_uuid, namespace_id=namespace_id)
        .order_by("-recorded_at")
        .values_list("payload__hostname", flat=True)
        .first()
    )
    existing = Instance.objects.filter(uuid=instance_uuid, namespace_id=namespace_id).first()
    moved_from = existing.account_id if existing else None
    if existing is not None:  # keep its subscription and flags; only the account moves
        existing.account = account
        existing.subscription = existing.subscription if moved_from == account.pk else None
        existing.save(update_fields=["account", "subscription"])
        instance = existing
    else:
        instance, _ = instance_upsert(
            account=account,
            uuid=instance_uuid,
            namespace_id=namespace_id,
            hostname=str(latest or "")[:255],
            instance_type=instance_type,
        )
    attached = UsagePing.objects.filter(
        instance__isnull=True, instance_uuid=instance_uuid, namespace_id=namespace_id
    ).update(instance=instance)
    recompute_mark(account_ids=[account.pk, *([moved_from] if moved_from else [])])
    return instance, attached
