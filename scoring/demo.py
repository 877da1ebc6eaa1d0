"""The usage side of the demo: 26 weeks of pings per instance, fed through the real
ingestion path, then scored week by week so the portfolio has history and trends.

Each account follows a story (rising, falling, strong, weak, stale, over license), so
the demo shows every colour, trend arrows both ways, silent instances and alerts.
Pings already stored are duplicates and change nothing; unchanged scores write nothing.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Iterator

from accounts.models import Account, Instance
from scoring.health import accounts_recompute
from scoring.ingestion import pings_ingest
from scoring.synthetic import synthetic_payload

WEEKS = 26
S = "usage_activity_by_stage_monthly"
SCANS = [
    "sast",
    "secret_detection",
    "dependency_scanning",
    "container_scanning",
    "dast",
    "coverage_fuzzing",
    "api_fuzzing",
]
STORIES = ["rising", "falling", "strong", "weak", "stale", "over"]


def story_of(account: Account) -> str:
    return STORIES[int(hashlib.sha256(account.crm_id.encode()).hexdigest()[:8], 16) % 6]


def _shape(story: str, progress: float) -> tuple[float, float]:
    """(utilization, adoption level 0..1) at ``progress`` 0..1 through the 26 weeks."""
    return {
        "rising": (0.20 + 0.65 * progress, 0.15 + 0.75 * progress),
        "falling": (0.85 - 0.50 * progress, 0.85 - 0.70 * progress),
        "strong": (0.88 + 0.05 * progress, 0.90),
        "weak": (0.30, 0.12),
        "stale": (0.55, 0.50),
        "over": (0.95 + 0.12 * progress, 0.55),
    }[story]


def _usage(billable: int, level: float) -> dict[str, int | float]:
    pipelines = billable * 20
    types = max(1, round(1 + 5 * level))
    usage: dict[str, int | float] = {
        f"{S}.create.action_monthly_active_users_project_repo": round(
            billable * (0.2 + 0.6 * level)
        ),
        f"{S}.create.merge_requests": round(billable * (0.5 + 2 * level)),
        f"{S}.verify.ci_pipelines": round(billable * (0.05 + 0.45 * level)),
        f"{S}.verify.ci_internal_pipelines": round(billable * (0.05 + 0.45 * level)),
        f"{S}.release.deployments": round(billable * (0.02 + 0.15 * level)),
        f"{S}.secure.user_unique_users_all_secure_scanners": round(
            billable * (0.02 + 0.25 * level)
        ),
        "counts_monthly.ci_internal_pipelines": pipelines,
        "counts_monthly.deployments": round(billable * (1 + 9 * level)),
        "counts_monthly.successful_deployments": round(100 * (0.6 + 0.35 * level)),
        "counts_monthly.failed_deployments": round(100 * (0.4 - 0.35 * level)),
        "redis_hll_counters.manage.unique_active_users_monthly": round(
            billable * (0.45 + 0.5 * level)
        ),
    }
    for i, scan in enumerate(SCANS):
        scans = pipelines * (0.05 + 0.6 * level) / types if i < types else 0
        usage[f"{S}.secure.{scan}_scans"] = round(scans)
    return usage


def _payloads(today: dt.date) -> Iterator[bytes]:
    instances = Instance.objects.filter(
        account__owner__email__endswith="@demo.usagehub.test"
    ).select_related("account", "subscription")
    for instance in instances:
        account, subscription = instance.account, instance.subscription
        if instance.uuid is None or subscription is None:
            continue
        story = story_of(account)
        for week in range(WEEKS):
            day = today - dt.timedelta(weeks=WEEKS - 1 - week, days=1)
            if account.customer_since and day < account.customer_since:
                continue
            if story == "stale" and week >= WEEKS - 4:
                continue
            utilization, level = _shape(story, week / (WEEKS - 1))
            billable = max(1, round(subscription.licensed_seats * utilization))
            if instance.instance_type != Instance.Type.PRODUCTION:
                billable = max(1, billable // 10)
            yield json.dumps(
                synthetic_payload(
                    uuid=instance.uuid,
                    recorded_at=dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC),
                    billable_users=billable,
                    licensed_seats=subscription.licensed_seats,
                    plan=subscription.plan,
                    usage=_usage(billable, level),
                    counters=150,
                    seed=week,
                )
            ).encode()


def demo_usage_seed(*, today: dt.date) -> dict[str, int]:
    """Ingest the demo pings, then score every demo account as of each past week."""
    counts: dict[str, int] = {}
    lines = enumerate(_payloads(today), 1)
    for result in pings_ingest(lines=lines, source="cli"):
        counts[result.status] = counts.get(result.status, 0) + 1
    ids = list(
        Account.objects.filter(owner__email__endswith="@demo.usagehub.test").values_list(
            "pk", flat=True
        )
    )
    for week in range(WEEKS - 1):
        accounts_recompute(account_ids=ids, as_of=today - dt.timedelta(weeks=WEEKS - 1 - week))
    accounts_recompute(account_ids=ids)
    return counts
