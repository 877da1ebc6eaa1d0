"""Which metrics are extracted from pings, and extracting newly tracked ones from the past.

Raw payloads are kept so that a metric tracked today has values for every ping
already stored: ``metric_values_backfill`` walks them in batches.
"""

from collections.abc import Iterable

from django.db import transaction

from scoring.models import MetricDefinition, UsagePing
from scoring.payload import extract_metrics
from scoring.recompute import recompute_mark
from usagehub.errors import DomainError

BATCH_SIZE = 500


@transaction.atomic
def metric_tracking_set(*, key_paths: Iterable[str], tracked: bool) -> list[str]:
    """Track or untrack metrics; newly tracked ones are backfilled after commit."""
    key_paths = sorted(set(key_paths))
    known = set(
        MetricDefinition.objects.filter(key_path__in=key_paths).values_list("key_path", flat=True)
    )
    if missing := [k for k in key_paths if k not in known]:
        raise DomainError(f"Not in the metrics dictionary: {', '.join(missing)}.", field="key_path")
    changed = list(
        MetricDefinition.objects.filter(key_path__in=key_paths)
        .exclude(is_tracked=tracked)
        .values_list("key_path", flat=True)
    )
    MetricDefinition.objects.filter(key_path__in=changed).update(is_tracked=tracked)
    if tracked and changed:
        from scoring.tasks import metrics_backfill

        transaction.on_commit(lambda: metrics_backfill.delay(changed))
    return changed


def metric_values_backfill(*, key_paths: list[str]) -> int:
    """Extract ``key_paths`` from every stored raw payload; returns the pings updated."""
    updated = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            pings = list(
                UsagePing.objects.filter(pk__gt=last_pk, payload__isnull=False)
                .select_related("instance")
                .order_by("pk")
                .only("pk", "instance__account_id", "payload", "metrics", "failed_metrics")[
                    :BATCH_SIZE
                ]
            )
            if not pings:
                return updated
            last_pk = pings[-1].pk
            changed = [ping for ping in pings if _merge(ping, key_paths)]
            UsagePing.objects.bulk_update(changed, ["metrics", "failed_metrics"])
            recompute_mark(account_ids={p.instance.account_id for p in changed if p.instance})
            updated += len(changed)


def _merge(ping: UsagePing, key_paths: list[str]) -> bool:
    values, failed = extract_metrics(ping.payload or {}, key_paths)
    metrics = {**ping.metrics, **values}
    failures = sorted(set(ping.failed_metrics) - set(values) | set(failed))
    if metrics == ping.metrics and failures == sorted(ping.failed_metrics):
        return False
    ping.metrics, ping.failed_metrics = metrics, failures
    return True
