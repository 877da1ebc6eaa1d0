"""Roll existing snapshots up into weekly health rows (the week's latest day wins).

Streams snapshots in account order, holding one account's weeks at a time, and reads
only the columns the rollup needs (never the ledgers), so it runs in flat memory.
"""

import datetime as dt
from decimal import Decimal

from django.db import migrations

TIERS = ["free", "premium", "ultimate"]
MAX_BIGINT = 2**63 - 1
CHUNK = 2000
COLUMNS = ["pk", "account_id", "as_of", "computed_at", "overall_colour", "overall_score",
           "adoption_count", "use_cases", "billable_users", "licensed_seats", "utilization",
           "milestones"]  # fmt: skip


def backfill(apps, schema_editor):
    snapshots = apps.get_model("scoring", "ScoreSnapshot")
    weekly = apps.get_model("scoring", "WeeklyHealth")
    contracts = {}
    for row in apps.get_model("accounts", "Subscription").objects.values(
        "account_id", "plan", "start_date", "renewal_date", "arr"
    ):
        contracts.setdefault(row["account_id"], []).append(row)
    rows, weeks, account = [], {}, None
    ordered = snapshots.objects.order_by("account_id", "as_of", "computed_at").only(*COLUMNS)
    for snapshot in ordered.iterator(CHUNK):
        if snapshot.account_id != account:
            rows += [_row(weekly, s, contracts) for s in weeks.values()]
            weeks, account = {}, snapshot.account_id
            if len(rows) >= CHUNK:
                weekly.objects.bulk_create(rows)
                rows = []
        weeks[snapshot.as_of - dt.timedelta(days=snapshot.as_of.weekday())] = snapshot
    rows += [_row(weekly, s, contracts) for s in weeks.values()]
    weekly.objects.bulk_create(rows, batch_size=CHUNK)


def _row(weekly, s, contracts):
    day, milestones = s.as_of, s.milestones or {}
    mine = contracts.get(s.account_id, [])
    green = sorted(key for key, colour in (s.use_cases or {}).items() if colour == "green")
    forecast = milestones.get("forecast_billable")
    return weekly(
        account_id=s.account_id,
        week=day - dt.timedelta(days=day.weekday()),
        as_of=day,
        snapshot_id=s.pk,
        colour=s.overall_colour,
        score=s.overall_score,
        adoption_count=s.adoption_count,
        adopted=f"|{'|'.join(green)}|" if green else "",
        tier=max((c["plan"] for c in mine), key=TIERS.index, default="free"),
        arr=round(
            sum((c["arr"] for c in mine if c["start_date"] <= day <= c["renewal_date"]), Decimal(0))
        ),
        billable_users=s.billable_users,
        licensed_seats=s.licensed_seats,
        utilization=s.utilization,
        days_to_util_10=milestones.get("days_to_util_10"),
        days_to_util_50=milestones.get("days_to_util_50"),
        days_to_util_80=milestones.get("days_to_util_80"),
        renewal_on=min((c["renewal_date"] for c in mine if c["renewal_date"] >= day), default=None),
        forecast_billable=None if forecast is None else min(forecast, MAX_BIGINT),
    )


def forget(apps, schema_editor):
    apps.get_model("scoring", "WeeklyHealth").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_use_case_override"),
        ("scoring", "0007_weekly_health_and_shared_reports"),
    ]

    operations = [migrations.RunPython(backfill, forget)]
