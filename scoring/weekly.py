"""The weekly rollup: each written snapshot becomes its account's row for that week."""

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from scoring.models import ScoreSnapshot, WeeklyHealth
from scoring.payload import MAX_BIGINT
from usagehub.bulk import copy_upsert

UPDATED = [
    f.name for f in WeeklyHealth._meta.concrete_fields if f.name not in ("id", "account", "week")
]


def week_of(day: dt.date) -> dt.date:
    """The Monday that starts ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def weekly_health_save(
    snapshots: Sequence[ScoreSnapshot],
    *,
    tiers: Mapping[int, str],
    arr: Mapping[int, Decimal],
    renewals: Mapping[int, dt.date | None],
) -> None:
    """Upsert the week rows of ``snapshots``, keeping a later day already rolled up
    (a replay of an earlier day must not overwrite the end of its week)."""
    copy_upsert(
        [
            _row(
                s,
                tier=tiers.get(s.account_id, "free"),
                arr=arr.get(s.account_id, Decimal(0)),
                renewal=renewals.get(s.account_id),
            )
            for s in snapshots
        ],
        unique_fields=["account", "week"],
        update_fields=UPDATED,
        keep_newer="as_of",
    )


def _row(
    snapshot: ScoreSnapshot, *, tier: str, arr: Decimal, renewal: dt.date | None
) -> WeeklyHealth:
    milestones = snapshot.milestones or {}
    return WeeklyHealth(
        account_id=snapshot.account_id,
        week=week_of(snapshot.as_of),
        as_of=snapshot.as_of,
        snapshot_id=snapshot.pk,
        colour=snapshot.overall_colour,
        score=snapshot.overall_score,
        adoption_count=snapshot.adoption_count,
        adopted=adopted_keys(snapshot.use_cases),
        tier=tier,
        arr=round(arr),
        billable_users=snapshot.billable_users,
        licensed_seats=snapshot.licensed_seats,
        utilization=snapshot.utilization,
        days_to_util_10=milestones.get("days_to_util_10"),
        days_to_util_50=milestones.get("days_to_util_50"),
        days_to_util_80=milestones.get("days_to_util_80"),
        renewal_on=renewal,
        forecast_billable=_capped(milestones.get("forecast_billable")),
    )


def adopted_keys(colours: Mapping[str, str | None]) -> str:
    """``|scm|ci|``: the use cases that are green, delimited so ``|key|`` matches exactly."""
    green = sorted(key for key, colour in colours.items() if colour == "green")
    return f"|{'|'.join(green)}|" if green else ""


def _capped(value: int | None) -> int | None:
    """A projection can outgrow a bigint; the chart needs no more than its ceiling."""
    return None if value is None else min(value, MAX_BIGINT)
