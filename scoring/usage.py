"""An account's usage summary from the latest ping of each instance that counts."""

from collections import defaultdict
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone

from accounts.models import Instance, Subscription
from scoring.models import AccountUsage, RecomputeRequest, UsagePing
from scoring.recompute import recompute_done, recompute_enqueue


def counted_instances(instances: list[Any]) -> list[Any]:
    """Production instances included in health; of several on one subscription, the one
    reporting the most billable users (the others are usually mirrors or test copies)."""
    chosen: dict[Any, Instance] = {}
    for instance in instances:
        if instance.instance_type != Instance.Type.PRODUCTION or not instance.included_in_health:
            continue
        key = instance.subscription_id or ("instance", instance.pk)
        best = chosen.get(key)
        if best is None or _billable(instance) > _billable(best):
            chosen[key] = instance
    return list(chosen.values())


def _billable(instance: Any) -> int:
    return getattr(instance, "latest_billable", None) or 0


def account_usage_refresh(*, account_id: int) -> AccountUsage:
    """Recompute and store the summary, then clear the account's recompute mark."""
    mark = RecomputeRequest.objects.filter(account_id=account_id).first()
    latest = UsagePing.objects.filter(instance=OuterRef("pk")).order_by("-recorded_at")
    instances: list[Any] = list(
        Instance.objects.filter(account_id=account_id).annotate(
            latest_ping_id=Subquery(latest.values("pk")[:1]),
            latest_billable=Subquery(latest.values("billable_users")[:1]),
        )
    )
    counted = counted_instances(instances)
    pings = list(
        UsagePing.objects.filter(
            pk__in=[i.latest_ping_id for i in counted if i.latest_ping_id]
        ).only("recorded_at", "billable_users", "licensed_seats", "metrics")
    )
    usage = _summarise(account_id, pings)
    with transaction.atomic():
        AccountUsage.objects.update_or_create(account_id=account_id, defaults=usage)
        cleared = recompute_done(
            account_id=account_id, seen_requested_at=mark.requested_at if mark else None
        )
    if not cleared:
        recompute_enqueue(account_ids=[account_id])
    return AccountUsage.objects.get(account_id=account_id)


def _summarise(account_id: int, pings: list[UsagePing]) -> dict[str, Any]:
    """Sums across instances; seats fall back to the CRM's when the payloads lack them."""
    billable = sum(p.billable_users or 0 for p in pings) if pings else None
    seats: int | None = sum(p.licensed_seats or 0 for p in pings) or None
    if seats is None:
        seats = Subscription.objects.filter(account_id=account_id).aggregate(
            total=Sum("licensed_seats")
        )["total"]
    metrics: dict[str, float] = defaultdict(float)
    for ping in pings:
        for key, value in ping.metrics.items():
            metrics[key] += value
    return {
        "last_ping_at": max((p.recorded_at for p in pings), default=None),
        "instances_counted": len(pings),
        "billable_users": billable,
        "licensed_seats": seats,
        "utilization": (billable / seats) if billable is not None and seats else None,
        "metrics": dict(metrics),
        "computed_at": timezone.now(),
    }
