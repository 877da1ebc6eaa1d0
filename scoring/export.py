"""The CRM export: one flat, CRM-ready row per account from its latest snapshot."""

import datetime as dt
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from accounts.models import Account
from scoring.models import ScoreSnapshot

MEASURES = [
    "license_utilization",
    "user_engagement",
    "sentiment",
    "outcomes",
    "support_tickets",
    "meeting_cadence",
    "persona_coverage",
]
USE_CASES = ["scm", "ci", "cd", "devsecops"]
CRM_FIELDS = [
    "crm_id",
    "name",
    "lifecycle_stage",
    "health_colour",
    "health_score",
    "scorecard_version",
    *[f"colour_{m}" for m in MEASURES],
    *[f"use_case_{u}" for u in USE_CASES],
    "license_utilization_pct",
    "billable_users",
    "licensed_seats",
    "adoption_count",
    "platform_adoption",
    "first_value_on",
    "days_to_util_10",
    "days_to_util_50",
    "days_to_util_80",
    "forecast_billable_at_renewal",
    "last_ping_at",
    "scored_at",
]


def crm_rows(
    accounts: QuerySet[Account], *, updated_since: dt.datetime | None
) -> list[dict[str, Any]]:
    """Rows for ``accounts`` (two queries), optionally only those changed since a moment."""
    latest = ScoreSnapshot.objects.filter(account=OuterRef("pk")).order_by("-as_of", "-computed_at")
    if updated_since is not None:
        accounts = accounts.filter(
            Q(updated_at__gte=updated_since) | Q(snapshots__computed_at__gte=updated_since)
        ).distinct()
    listed = list(
        accounts.select_related("usage")
        .annotate(snapshot_id=Subquery(latest.values("pk")[:1]))
        .order_by("pk")
    )
    snapshots = {
        s.pk: s
        for s in ScoreSnapshot.objects.filter(
            pk__in=[a.snapshot_id for a in listed if a.snapshot_id]
        )
        .select_related("scorecard")
        .defer("ledger", "diff", "objectives")  # the export needs colours, not explanations
    }
    return [_row(a, snapshots.get(a.snapshot_id)) for a in listed]


def _row(account: Any, snapshot: ScoreSnapshot | None) -> dict[str, Any]:
    colours = snapshot.colours if snapshot else {}
    milestones = snapshot.milestones if snapshot else {}
    usage = getattr(account, "usage", None) if hasattr(account, "usage") else None
    row: dict[str, Any] = {
        "crm_id": account.crm_id,
        "name": account.name,
        "lifecycle_stage": account.lifecycle_stage,
        "health_colour": snapshot.overall_colour if snapshot else None,
        "health_score": snapshot.overall_score if snapshot else None,
        "scorecard_version": snapshot.scorecard.version if snapshot else None,
        "license_utilization_pct": round(snapshot.utilization * 100, 1)
        if snapshot and snapshot.utilization is not None
        else None,
        "billable_users": snapshot.billable_users if snapshot else None,
        "licensed_seats": snapshot.licensed_seats if snapshot else None,
        "adoption_count": snapshot.adoption_count if snapshot else None,
        "platform_adoption": snapshot.platform_adoption if snapshot else None,
        "first_value_on": milestones.get("first_value_on"),
        "days_to_util_10": milestones.get("days_to_util_10"),
        "days_to_util_50": milestones.get("days_to_util_50"),
        "days_to_util_80": milestones.get("days_to_util_80"),
        "forecast_billable_at_renewal": milestones.get("forecast_billable"),
        "last_ping_at": usage.last_ping_at.isoformat() if usage and usage.last_ping_at else None,
        "scored_at": snapshot.computed_at.isoformat() if snapshot else None,
    }
    row.update({f"colour_{m}": colours.get(m) for m in MEASURES})
    row.update({f"use_case_{u}": colours.get(u) for u in USE_CASES})
    return row
