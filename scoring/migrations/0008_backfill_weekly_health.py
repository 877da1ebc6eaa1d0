"""Roll existing snapshots up into weekly health rows (the week's latest day wins)."""

import datetime as dt
from decimal import Decimal

from django.db import migrations

TIERS = ["free", "premium", "ultimate"]
CHUNK = 2000


def backfill(apps, schema_editor):
    snapshots = apps.get_model("scoring", "ScoreSnapshot")
    weekly = apps.get_model("scoring", "WeeklyHealth")
    subscriptions = apps.get_model("accounts", "Subscription")
    contracts = {}
    for row in subscriptions.objects.values("account_id", "plan", "start_date", "arr"):
        contracts.setdefault(row["account_id"], []).append(row)
    latest = {}
    for s in snapshots.objects.order_by("account_id", "as_of", "computed_at").iterator(CHUNK):
        latest[(s.account_id, s.as_of - dt.timedelta(days=s.as_of.weekday()))] = s
    rows = []
    for (account_id, week), s in latest.items():
        started = [c for c in contracts.get(account_id, []) if c["start_date"] <= s.as_of]
        milestones = s.milestones or {}
        rows.append(
            weekly(
                account_id=account_id,
                week=week,
                as_of=s.as_of,
                snapshot_id=s.pk,
                colour=s.overall_colour,
                score=s.overall_score,
                adoption_count=s.adoption_count,
                adopted=_adopted(s.use_cases),
                tier=max(
                    (c["plan"] for c in contracts.get(account_id, [])),
                    key=TIERS.index,
                    default="free",
                ),
                arr=round(sum((c["arr"] for c in started), Decimal(0))),
                billable_users=s.billable_users,
                licensed_seats=s.licensed_seats,
                utilization=s.utilization,
                days_to_util_10=milestones.get("days_to_util_10"),
                days_to_util_50=milestones.get("days_to_util_50"),
                days_to_util_80=milestones.get("days_to_util_80"),
                renewal_on=milestones.get("forecast_on"),
                forecast_billable=milestones.get("forecast_billable"),
            )
        )
    weekly.objects.bulk_create(rows, batch_size=CHUNK)


def _adopted(colours):
    green = sorted(key for key, colour in (colours or {}).items() if colour == "green")
    return f"|{'|'.join(green)}|" if green else ""


def forget(apps, schema_editor):
    apps.get_model("scoring", "WeeklyHealth").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_use_case_override"),
        ("scoring", "0007_weekly_health_and_shared_reports"),
    ]

    operations = [migrations.RunPython(backfill, forget)]
