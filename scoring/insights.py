"""Leaders' insights: charts over the weekly rollup, each with the numbers behind it.

Every insight is a table (what its CSV download holds) plus a chart drawn from the same
rows. All of it comes from stored rows in a fixed number of queries: the weekly rollup,
one snapshot pair per mover, and alerts. Nothing is recomputed on page load.
"""

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Greatest, Least, NullIf, RowNumber, Sign
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.access import accounts_visible_to, sees_every_account
from accounts.models import LifecycleStage, Tier, UseCase
from scoring import charts
from scoring.engine import RANK
from scoring.models import Alert, ScoreSnapshot, WeeklyHealth
from scoring.weekly import week_of

WEEKS = 26
MOVER_WEEKS = 4
MOVERS = 10
COLOURS = [("red", "Red"), ("yellow", "Yellow"), ("green", "Green"), ("", "No score")]
ADOPTION_LEVELS = ["0", "1", "2", "3+"]  # use cases adopted; 3+ is platform adoption
UTILIZATION_BANDS = [
    ("No data", Q(utilization__isnull=True)),
    ("Under 25%", Q(utilization__lt=0.25)),
    ("25–50%", Q(utilization__gte=0.25, utilization__lt=0.5)),
    ("50–75%", Q(utilization__gte=0.5, utilization__lt=0.75)),
    ("75–90%", Q(utilization__gte=0.75, utilization__lt=0.9)),
    ("90–100%", Q(utilization__gte=0.9, utilization__lte=1.0)),
    ("Over 100%", Q(utilization__gt=1.0)),
]


@dataclass(frozen=True)
class InsightFilters:
    team: str = ""
    priority: str = ""
    tier: str = ""
    lifecycle: str = ""

    @classmethod
    def from_query(cls, query: Any) -> "InsightFilters":
        """Unknown values are dropped, not errors: a stale bookmark still opens."""
        team, priority = query.get("team", ""), query.get("priority", "")
        return cls(
            team=team if team.isascii() and team.isdigit() else "",
            priority=priority if priority in ("1", "2", "3") else "",
            tier=query.get("tier", "") if query.get("tier") in Tier.values else "",
            lifecycle=query.get("lifecycle", "")
            if query.get("lifecycle") in LifecycleStage.values
            else "",
        )


@dataclass
class Insight:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: SafeString = field(default_factory=SafeString)
    note: str = ""


@dataclass
class Book:
    """The weekly rows in scope, the weeks the charts span, and per-week totals (colour
    and adoption counts with their ARR) from one pass over the rows."""

    rows: QuerySet[WeeklyHealth]
    latest: dt.date
    weeks: list[dt.date]
    totals: dict[dt.date, dict[str, Any]]
    today: dt.date

    @property
    def current(self) -> QuerySet[WeeklyHealth]:
        return self.rows.filter(week=self.latest)

    @property
    def quarters(self) -> list[tuple[dt.date, dt.date]]:
        """The renewal quarters forecast: the rest of this one and the next."""
        return _quarters(self.today, 2)

    @cached_property
    def current_totals(self) -> dict[str, Any]:
        """Utilization bands, seat totals and renewals per quarter of the latest week, in
        one pass (utilization, seats and renewals all read it)."""
        totals: dict[str, Any] = {
            **{f"b{n}": Count("pk", filter=q) for n, (_, q) in enumerate(UTILIZATION_BANDS)},
            "bought": Sum("licensed_seats"),
            "used": Sum("billable_users"),
            "unused": Sum(_excess(F("licensed_seats") - F("billable_users"))),
            "over": Sum(_excess(F("billable_users") - F("licensed_seats"))),
        }
        for n, span in enumerate(self.quarters):
            renewing = Q(renewal_on__range=span)
            totals |= {
                f"q{n}_accounts": Count("pk", filter=renewing),
                f"q{n}_bought": Sum("licensed_seats", filter=renewing),
                f"q{n}_forecast": Sum("forecast_billable", filter=renewing),
                f"q{n}_true_up": Sum(
                    _excess(F("forecast_billable") - F("licensed_seats")), filter=renewing
                ),
                f"q{n}_over": Count(
                    "pk", filter=renewing & Q(forecast_billable__gt=F("licensed_seats"))
                ),
            }
        return self.current.aggregate(**totals)

    @property
    def month_ends(self) -> list[dt.date]:
        """The last week with scores of each month, a week counting in the month it ends
        in (a month without any is left out)."""
        ends: dict[tuple[int, int], dt.date] = {}
        for week in sorted(self.totals):
            sunday = week + dt.timedelta(days=6)
            ends[(sunday.year, sunday.month)] = week
        return sorted(ends.values())


def book_for(user: Any, filters: InsightFilters) -> Book | None:
    """The user's book (their team's, or every team's for an admin) under the filters."""
    rows = WeeklyHealth.objects.all()
    if not (
        sees_every_account(user) and not (filters.team or filters.priority or filters.lifecycle)
    ):  # an admin's unfiltered book needs no join with accounts
        accounts = accounts_visible_to(user)
        if filters.team:
            accounts = accounts.filter(owner__team_id=filters.team)
        if filters.priority:
            accounts = accounts.filter(priority=filters.priority)
        if filters.lifecycle:
            accounts = accounts.filter(lifecycle_stage=filters.lifecycle)
        rows = rows.filter(account__in=accounts)
    if filters.tier:
        rows = rows.filter(tier=filters.tier)
    today = timezone.localdate()
    horizon = week_of(today) - dt.timedelta(weeks=WEEKS + 4)  # room for a late nightly run
    totals = _weekly_totals(rows, horizon)
    if not totals:  # nothing scored lately: chart the last half-year that has scores
        latest = rows.aggregate(latest=Max("week"))["latest"]
        if latest is None:
            return None
        totals = _weekly_totals(rows, latest - dt.timedelta(weeks=WEEKS))
    latest = _last_full_week(totals)
    weeks = [latest - dt.timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]
    totals = {week: row for week, row in totals.items() if weeks[0] <= week <= latest}
    return Book(rows=rows, latest=latest, weeks=weeks, totals=totals, today=today)


def _last_full_week(totals: dict[dt.date, dict[str, Any]]) -> dt.date:
    """The newest week, unless it holds under half the accounts of the week before: on a
    Monday before the nightly run, the new week has only the few accounts that pinged."""
    latest = max(totals)
    before = totals.get(latest - dt.timedelta(weeks=1))
    if before and totals[latest]["accounts"] * 2 < before["accounts"]:
        return latest - dt.timedelta(weeks=1)
    return latest


def _weekly_totals(rows: QuerySet[WeeklyHealth], since: dt.date) -> dict[dt.date, dict[str, Any]]:
    """Per week: accounts and ARR by colour (n_red, arr_red…) and by use cases adopted
    (level_0…level_3 and level_arr_…), from one plain GROUP BY — far cheaper in the
    database than a dozen filtered aggregates over 260,000 rows."""
    totals: dict[dt.date, dict[str, Any]] = {}
    for week, colour, level, n, arr in (
        rows.filter(week__gte=since)
        .values_list("week", "colour", Least("adoption_count", len(ADOPTION_LEVELS) - 1))
        .annotate(n=Count("pk"), arr=Sum("arr"))
        .order_by()
    ):
        week_totals = totals.setdefault(week, defaultdict(int))
        for key, value in ((f"n_{colour or 'none'}", n), (f"arr_{colour or 'none'}", arr),
                           (f"level_{level}", n), (f"level_arr_{level}", arr),
                           ("accounts", n), ("arr_total", arr)):  # fmt: skip
            week_totals[key] += value or 0
    return dict(sorted(totals.items()))


def health_over_time(book: Book) -> Insight:
    empty: dict[str, Any] = {}
    rows = [
        [week.isoformat()]
        + [book.totals.get(week, empty).get(f"n_{c or 'none'}", 0) for c, _ in COLOURS]
        + [_money(book.totals.get(week, empty).get(f"arr_{c or 'none'}")) for c, _ in COLOURS]
        for week in book.weeks
    ]
    labels = [_short(w) for w in book.weeks]
    return Insight(
        key="health",
        title="Health over time",
        columns=[
            "Week of",
            *(f"{name} accounts" for _, name in COLOURS),
            *(f"{name} ARR" for _, name in COLOURS),
        ],
        rows=rows,
        chart=charts.bars(
            "Accounts by overall colour per week",
            labels,
            [
                (f"c-{c or 'none'}", name, [r[1 + n] for r in rows])
                for n, (c, name) in enumerate(COLOURS)
            ],
        ),
        note="Each account counts in a week by its latest score that week.",
    )


def platform_adoption(book: Book) -> Insight:
    levels = ADOPTION_LEVELS
    rows = []
    for week in book.month_ends:
        row = book.totals[week]
        counts = [row[f"level_{n}"] for n in range(len(levels))]
        shares = [_share(row[f"level_arr_{n}"], row["arr_total"]) for n in range(len(levels))]
        rows.append([_month(week), row["accounts"], *counts, *shares])
    return Insight(
        key="platform",
        title="Platform adoption",
        columns=[
            "Month",
            "Accounts",
            *(f"{label} use cases" for label in levels),
            *(f"ARR % with {label}" for label in levels),
        ],
        rows=rows,
        chart=charts.bars(
            "Share of ARR by number of use cases adopted, per month",
            [r[0] for r in rows],
            [
                (f"c-{n + 1}", f"{label} use cases", [r[2 + len(levels) + n] for r in rows])
                for n, label in enumerate(levels)
            ],
        ),
        note="Adopted means green; 3+ is platform adoption. A month is its last scored week.",
    )


def use_case_rates(book: Book) -> Insight:
    months = book.month_ends
    use_cases = list(UseCase.objects.filter(is_active=True))
    aggregates: dict[str, Any] = {}
    for uc in use_cases:
        aggregates[f"adopted_{uc.pk}"] = Count("pk", filter=Q(adopted__contains=f"|{uc.key}|"))
        aggregates[f"eligible_{uc.pk}"] = Count("pk", filter=Q(tier__in=_tiers_from(uc)))
    found = {
        row["week"]: row
        for row in book.rows.filter(week__in=months).values("week").annotate(**aggregates)
    }
    rows = []
    for week in months:
        row = found.get(week, {})
        cells: list[Any] = [_month(week)]
        for uc in use_cases:
            adopted, eligible = row.get(f"adopted_{uc.pk}", 0), row.get(f"eligible_{uc.pk}", 0)
            cells += [adopted, eligible, _share(adopted, eligible)]
        rows.append(cells)
    return Insight(
        key="use-cases",
        title="Use-case adoption",
        columns=["Month"]
        + [f"{uc.name} {part}" for uc in use_cases for part in ("adopted", "eligible", "rate %")],
        rows=rows,
        chart=charts.lines(
            "Adoption rate per use case, per month",
            [r[0] for r in rows],
            [
                (f"c-{n + 1}", uc.name, [r[3 + 3 * n] for r in rows])
                for n, uc in enumerate(use_cases)
            ],
            top=100,
        ),
        note="Rate = accounts green on the use case ÷ accounts whose tier includes it "
        "(DevSecOps needs Ultimate).",
    )


def utilization(book: Book) -> Insight:
    found = book.current_totals
    total = sum(found[f"b{n}"] for n in range(len(UTILIZATION_BANDS)))
    rows = [
        [label, found[f"b{n}"], _share(found[f"b{n}"], total)]
        for n, (label, _) in enumerate(UTILIZATION_BANDS)
    ]
    return Insight(
        key="utilization",
        title="License utilization",
        columns=["Utilization", "Accounts", "% of accounts"],
        rows=rows,
        chart=charts.bars(
            "Accounts by license utilization band",
            [r[0] for r in rows],
            [("c-2", "Accounts", [r[1] for r in rows])],
        ),
        note=f"Billable users ÷ licensed seats, week of {book.latest.isoformat()}.",
    )


def seats(book: Book) -> Insight:
    found = book.current_totals
    rows = [
        ["Seats bought", found["bought"] or 0],
        ["Billable users", found["used"] or 0],
        ["Seats unused", found["unused"] or 0],
        ["Users over license (true-up today)", found["over"] or 0],
    ]
    return Insight(
        key="seats",
        title="Seats unused vs bought",
        columns=["Seats", "Count"],
        rows=rows,
        chart=charts.bars(
            "Seats bought, used, unused and over license",
            [str(r[0]).split(" (")[0] for r in rows],
            [("c-2", "Seats", [r[1] for r in rows])],
        ),
    )


def renewals(book: Book) -> Insight:
    rows = []
    for n, (start, end) in enumerate(book.quarters):
        found = {k.removeprefix(f"q{n}_"): v for k, v in book.current_totals.items()}
        rows.append(
            [
                _quarter(start),
                start.isoformat(),
                end.isoformat(),
                found["accounts"],
                found["bought"] or 0,
                found["forecast"] or 0,
                found["true_up"] or 0,
                found["over"],
            ]
        )
    return Insight(
        key="renewals",
        title="Forecast true-up at renewal",
        columns=[
            "Quarter",
            "From",
            "To",
            "Renewing accounts",
            "Seats bought",
            "Forecast billable users",
            "Forecast true-up seats",
            "Accounts over license",
        ],
        rows=rows,
        chart=charts.bars(
            "Seats bought vs forecast at renewal, next two quarters",
            [r[0] for r in rows],
            [
                ("c-2", "Seats bought", [r[4] for r in rows]),
                ("c-4", "Forecast at renewal", [r[5] for r in rows]),
            ],
            stacked=False,
        ),
        note="Billable-user trend projected to each renewal date (accounts with 2+ weeks of data).",
    )


def time_to_value(book: Book) -> Insight:
    cohorts: dict[str, list[tuple[int | None, ...]]] = defaultdict(list)
    for since, to_10, to_50, to_80 in book.current.values_list(
        "account__customer_since", "days_to_util_10", "days_to_util_50", "days_to_util_80"
    ):
        cohorts[_quarter(since) if since else "Start unknown"].append((to_10, to_50, to_80))
    rows = []
    for quarter in sorted(cohorts):
        customers = cohorts[quarter]
        cells: list[Any] = [quarter, len(customers)]
        for n in range(3):
            reached = [days for c in customers if (days := c[n]) is not None]
            cells += [len(reached), round(statistics.median(reached), 1) if reached else None]
        rows.append(cells)
    return Insight(
        key="time-to-value",
        title="Time to value",
        columns=[
            "Customer start",
            "Customers",
            "Reached 10%",
            "Median days to 10%",
            "Reached 50%",
            "Median days to 50%",
            "Reached 80%",
            "Median days to 80%",
        ],
        rows=rows,
        chart=charts.bars(
            "Median days to 10 / 50 / 80% utilization by customer-start quarter",
            [r[0] for r in rows],
            [
                (f"c-{n + 1}", f"to {share}", [r[3 + 2 * n] for r in rows])
                for n, share in enumerate(("10%", "50%", "80%"))
            ],
            stacked=False,
        ),
        note="First value = 10% of licensed seats in use. Days counted from customer-since.",
    )


def movers(book: Book) -> Insight:
    month_ago = book.latest - dt.timedelta(weeks=MOVER_WEEKS)
    moved = (
        book.current.annotate(
            before=FilteredRelation("account__weeks", condition=Q(account__weeks__week=month_ago))
        )
        .filter(before__isnull=False)
        .annotate(
            colour_change=_rank("colour") - _rank("before__colour"),
            score_change=F("score") - F("before__score"),
        )
        .annotate(  # colour first, then score
            direction=Coalesce(
                NullIf("colour_change", 0), Sign("score_change"), output_field=FloatField()
            )
        )
        .exclude(Q(direction=0) | Q(direction__isnull=True))
    )
    # One pass ranks both lists: within each direction, the biggest move in that direction
    # first (a fall is ranked on -change, a rise on change), unknown changes last.
    away = Sign("direction") * Value(-1.0)
    place = Window(
        RowNumber(),
        partition_by=[Sign("direction")],
        order_by=[
            ExpressionWrapper(away * F("colour_change"), FloatField()).asc(nulls_last=True),
            ExpressionWrapper(away * F("score_change"), FloatField()).asc(nulls_last=True),
            F("pk").asc(),
        ],
    )
    found = [
        ("fell" if direction < 0 else "rose", move)
        for *move, direction in moved.annotate(place=place)
        .filter(place__lte=MOVERS)
        .order_by("direction", "place")
        .values_list(
            "account_id", "before__colour", "colour", "before__score", "score", "score_change",
            "before__snapshot_id", "snapshot_id", "account__name", "direction",
        )
    ]  # fmt: skip
    ledgers = dict(
        ScoreSnapshot.objects.filter(pk__in=[s for _, m in found for s in m[6:8]]).values_list(
            "pk", "ledger"
        )
    )
    rows = [
        [direction, name, pk, was_colour, colour, _round(was_score), _round(score),
         _round(change), _mover_reason(ledgers.get(was_snapshot, []), ledgers.get(snapshot, []),
                                       falling=direction == "fell")]
        for direction, (pk, was_colour, colour, was_score, score, change, was_snapshot, snapshot,
                        name) in found
    ]  # fmt: skip
    return Insight(
        key="movers",
        title=f"Movers over the last {MOVER_WEEKS} weeks",
        columns=[
            "Direction",
            "Account",
            "Account id",
            "Was",
            "Now",
            "Score was",
            "Score now",
            "Change",
            "What moved it",
        ],
        rows=rows,
        note="Colour change first, then score change; the measure whose colour moved most.",
    )


def alerts(book: Book) -> Insight:
    opened = Alert.objects.filter(
        account__in=book.current.values("account"),
        opened_at__date__gte=book.weeks[0],
    )
    counts = {
        row["kind"]: row
        for row in opened.values("kind").annotate(
            n=Count("pk"), still_open=Count("pk", filter=~Q(state=Alert.State.CLOSED))
        )
    }
    durations: dict[str, list[float]] = defaultdict(list)
    for kind, start, end in opened.filter(state=Alert.State.CLOSED).values_list(
        "kind", "opened_at", "closed_at"
    ):
        if end is not None:  # closed alerts always carry it; the column allows null
            durations[kind].append((end - start).total_seconds() / 86400)
    rows = [
        [
            label,
            counts[kind]["n"],
            counts[kind]["still_open"],
            len(durations[kind]),
            round(statistics.median(durations[kind]), 1) if durations[kind] else None,
        ]
        for kind, label in Alert.Kind.choices
        if kind in counts
    ]
    return Insight(
        key="alerts",
        title="Alert volume",
        columns=["Kind", "Opened", "Still open", "Closed", "Median days to close"],
        rows=rows,
        chart=charts.bars(
            "Alerts opened by kind",
            [r[0].split(" (")[0][:18] for r in rows],
            [("c-4", "Opened", [r[1] for r in rows]), ("c-2", "Closed", [r[3] for r in rows])],
            stacked=False,
        ),
        note=f"Alerts opened since {book.weeks[0].isoformat()} on the accounts in view.",
    )


INSIGHTS: dict[str, Callable[[Book], Insight]] = {
    "health": health_over_time,
    "platform": platform_adoption,
    "use-cases": use_case_rates,
    "utilization": utilization,
    "seats": seats,
    "renewals": renewals,
    "time-to-value": time_to_value,
    "movers": movers,
    "alerts": alerts,
}


def _tiers_from(use_case: UseCase) -> list[str]:
    """The tiers that include ``use_case``: its required tier and those above."""
    return Tier.values[Tier.values.index(use_case.required_tier) :]


def _excess(difference: Any) -> Greatest:
    """A difference floored at zero (a seat count cannot be negative)."""
    seats: BigIntegerField[int, int] = BigIntegerField()
    return Greatest(difference, Value(0, output_field=seats), output_field=seats)


def _rank(field_name: str) -> Case:
    return Case(
        *(When(**{field_name: colour}, then=Value(rank)) for colour, rank in RANK.items()),
        default=None,
        output_field=IntegerField(),
    )


def _mover_reason(
    before: list[dict[str, Any]], after: list[dict[str, Any]], *, falling: bool
) -> str:
    """The measure that moved the account most in its direction: the furthest colour
    change, then the largest change in contribution to the score."""
    was = {line["key"]: line for line in before}
    sign = -1 if falling else 1
    best: dict[str, Any] = {}
    best_move = (0, 0.0)
    for line in after:
        old = was.get(line["key"], {})
        if line.get("kind") == "group":
            continue
        move = (
            sign * (RANK.get(line.get("colour") or "", -1) - RANK.get(old.get("colour") or "", -1)),
            sign * ((line.get("contribution") or 0) - (old.get("contribution") or 0)),
        )
        if move > best_move:
            best, best_move = line, move
    if not best:
        return ""
    old = was.get(best["key"], {})
    if best_move[0]:
        return f"{best['name']}: {_colour(old)} → {_colour(best)}"
    return f"{best['name']}: {sign * best_move[1]:+.1f} points"


def _colour(line: dict[str, Any]) -> str:
    return line.get("colour") or "no data"


def _quarters(today: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
    """The rest of the quarter that holds ``today``, then the quarters after it."""
    spans = []
    start = today
    for _ in range(count):
        first = (start.month - 1) // 3 * 3 + 1
        year, month = (start.year + 1, 1) if first == 10 else (start.year, first + 3)
        following = dt.date(year, month, 1)
        spans.append((start, following - dt.timedelta(days=1)))
        start = following
    return spans


def _quarter(day: dt.date) -> str:
    return f"{day.year} Q{(day.month - 1) // 3 + 1}"


def _month(week: dt.date) -> str:
    return (week + dt.timedelta(days=6)).strftime("%b %Y")  # the month the week ends in


def _short(week: dt.date) -> str:
    return week.strftime("%d %b")


def _share(part: Any, whole: Any) -> float | None:
    return round(float(part or 0) / float(whole) * 100, 1) if whole else None


def _money(value: Any) -> int:
    return round(value or 0)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
