"""Insights: every chart's numbers against a small book computed by hand, role rules,
filters, CSV downloads, bounded queries, and the weekly rollup written by recompute."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from scoring.health import accounts_recompute
from scoring.models import Alert, Scorecard, ScoreSnapshot, WeeklyHealth
from scoring.weekly import weekly_health_save
from tests.factories import AccountFactory, SubscriptionFactory
from tests.scoring.test_health import _customer

pytestmark = pytest.mark.django_db

NOW = dt.date(2026, 11, 16)  # a Monday: the book's latest week
BEFORE = NOW - dt.timedelta(weeks=4)  # 2026-10-19: its week ends in October
UC = {"scm": None, "ci": None, "cd": None, "devsecops": None}


def _week(
    account,
    day,
    *,
    colour,
    score,
    adoption,
    use_cases,
    tier="premium",
    arr=0,
    billable=None,
    licensed=None,
    milestones=None,
    ledger=(),
    renewal=None,
):
    snapshot = ScoreSnapshot.objects.create(
        account=account,
        scorecard=Scorecard.objects.get(status="published"),
        as_of=day,
        computed_at=timezone.now(),
        inputs_hash=f"{account.pk}-{day}",
        overall_colour=colour,
        overall_score=score,
        adoption_count=adoption,
        use_cases=UC | use_cases,
        billable_users=billable,
        licensed_seats=licensed,
        utilization=billable / licensed if billable is not None and licensed else None,
        milestones=milestones or {},
        ledger=list(ledger),
    )
    weekly_health_save(
        [snapshot],
        tiers={account.pk: tier},
        arr={account.pk: Decimal(arr)},
        renewals={account.pk: renewal},
    )


def _line(key, name, colour, contribution):
    return {
        "key": key,
        "name": name,
        "kind": "measure",
        "colour": colour,
        "contribution": contribution,
    }


def _next_quarter(today: dt.date) -> dt.date:
    month = ((today.month - 1) // 3 + 1) * 3 + 1
    return dt.date(today.year + 1, 1, 1) if month > 12 else dt.date(today.year, month, 1)


@pytest.fixture
def book(owner, teammate, outsider):
    """Three accounts on the owner's team (Acme falls, Beta rises, Cobalt is new) and
    one on another team that must never show."""
    today = timezone.localdate()
    acme = AccountFactory(name="Acme", owner=owner, priority=1, customer_since=dt.date(2026, 1, 10))
    beta = AccountFactory(
        name="Beta", owner=teammate, priority=2, customer_since=dt.date(2026, 2, 20)
    )
    cobalt = AccountFactory(
        name="Cobalt", owner=owner, priority=3, customer_since=dt.date(2025, 11, 1)
    )
    zeta = AccountFactory(name="Zeta", owner=outsider, customer_since=dt.date(2026, 1, 1))
    _week(
        acme,
        BEFORE,
        colour="green",
        score=80,
        adoption=3,
        tier="ultimate",
        arr=100_000,
        use_cases={"scm": "green", "ci": "green", "cd": "green", "devsecops": "red"},
        ledger=[_line("ci", "CI", "green", 20), _line("util", "Utilization", "yellow", 10)],
    )
    _week(
        acme,
        NOW,
        colour="red",
        score=55,
        adoption=1,
        tier="ultimate",
        arr=100_000,
        use_cases={"scm": "green", "ci": "red", "cd": "yellow", "devsecops": "red"},
        billable=90,
        licensed=100,
        milestones={
            "days_to_util_10": 20,
            "days_to_util_50": 60,
            "forecast_on": today.isoformat(),
            "forecast_billable": 130,
        },
        renewal=today,
        ledger=[_line("ci", "CI", "red", 0), _line("util", "Utilization", "yellow", 12)],
    )
    _week(
        beta,
        BEFORE,
        colour="yellow",
        score=65,
        adoption=1,
        arr=50_000,
        use_cases={"scm": "green", "ci": "yellow", "cd": "red"},
        ledger=[_line("ci", "CI", "yellow", 10)],
    )
    _week(
        beta,
        NOW,
        colour="green",
        score=78,
        adoption=2,
        arr=50_000,
        use_cases={"scm": "green", "ci": "green", "cd": "red"},
        billable=30,
        licensed=100,
        milestones={
            "days_to_util_10": 40,
            "forecast_on": (_next_quarter(today) + dt.timedelta(days=5)).isoformat(),
            "forecast_billable": 80,
        },
        renewal=_next_quarter(today) + dt.timedelta(days=5),
        ledger=[_line("ci", "CI", "green", 20)],
    )
    _week(
        cobalt,
        NOW,
        colour="yellow",
        score=60,
        adoption=0,
        arr=20_000,
        use_cases={"scm": "yellow", "ci": "red", "cd": "red"},
        licensed=50,
        milestones={"days_to_util_10": 100},
        renewal=timezone.localdate(),  # renewing with too little history for a forecast
    )
    _week(
        zeta,
        NOW,
        colour="green",
        score=90,
        adoption=4,
        tier="ultimate",
        arr=999_000,
        use_cases={"scm": "green", "ci": "green", "cd": "green", "devsecops": "green"},
        billable=10,
        licensed=10,
    )
    opened = timezone.make_aware(dt.datetime(2026, 11, 20, 9))
    Alert.objects.create(
        account=acme,
        kind="utilization_dropped",
        severity="warning",
        message="m",
        opened_at=opened,
        state="closed",
        closed_at=opened + dt.timedelta(days=3),
    )
    Alert.objects.create(
        account=acme, kind="over_license", severity="info", message="m", opened_at=opened
    )
    Alert.objects.create(
        account=acme,
        kind="overall_dropped",
        severity="info",
        message="old",
        opened_at=opened - dt.timedelta(weeks=30),
        state="closed",
        closed_at=opened,
    )
    Alert.objects.create(
        account=zeta, kind="over_license", severity="info", message="m", opened_at=opened
    )
    return {"acme": acme, "beta": beta, "cobalt": cobalt, "zeta": zeta}


def _table(client, key, **query) -> list[dict[str, str]]:
    response = client.get(reverse("insight-csv", args=[key]), query)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="insight-{key}-')
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def _by(rows, column):
    return {row[column]: row for row in rows}


def test_health_over_time_counts_accounts_and_arr_by_colour_per_week(client, manager, book):
    client.force_login(manager)
    rows = _by(_table(client, "health"), "Week of")
    assert len(rows) == 26
    assert (min(rows), max(rows)) == ("2026-05-25", "2026-11-16")
    now, before = rows["2026-11-16"], rows["2026-10-19"]
    assert (now["Red accounts"], now["Yellow accounts"], now["Green accounts"]) == ("1", "1", "1")
    assert (now["Red ARR"], now["Yellow ARR"], now["Green ARR"]) == ("100000", "20000", "50000")
    assert (before["Green accounts"], before["Yellow accounts"], before["Red accounts"]) == (
        "1",
        "1",
        "0",
    )
    assert before["Green ARR"] == "100000"
    assert rows["2026-11-09"]["Green accounts"] == "0"  # a week with no scores is empty


def test_a_week_begun_before_its_nightly_run_is_not_charted_yet(client, manager, book):
    _week(book["beta"], NOW + dt.timedelta(weeks=1), colour="red", score=30, adoption=0,
          use_cases={})  # fmt: skip
    client.force_login(manager)
    rows = _table(client, "health")
    assert rows[-1]["Week of"] == "2026-11-16"  # 1 account of 3: the week is not full yet
    _week(book["acme"], NOW + dt.timedelta(weeks=1), colour="red", score=30, adoption=0,
          use_cases={})  # fmt: skip
    assert _table(client, "health")[-1]["Week of"] == "2026-11-23"


def test_platform_adoption_counts_use_cases_adopted_and_shares_arr_per_month(client, manager, book):
    client.force_login(manager)
    rows = _by(_table(client, "platform"), "Month")
    assert list(rows) == ["Oct 2026", "Nov 2026"]
    nov = rows["Nov 2026"]
    assert [nov[f"{n} use cases"] for n in ("0", "1", "2", "3+")] == ["1", "1", "1", "0"]
    assert [nov[f"ARR % with {n}"] for n in ("0", "1", "2", "3+")] == [
        "11.8",
        "58.8",
        "29.4",
        "0.0",
    ]
    oct_ = rows["Oct 2026"]
    assert [oct_[f"{n} use cases"] for n in ("0", "1", "2", "3+")] == ["0", "1", "0", "1"]
    assert oct_["ARR % with 3+"] == "66.7"


def test_use_case_rates_divide_adopted_by_eligible_accounts(client, manager, book):
    client.force_login(manager)
    rows = _by(_table(client, "use-cases"), "Month")
    nov, oct_ = rows["Nov 2026"], rows["Oct 2026"]
    scm, ci, devsecops = "Source code management (SCM)", "Continuous integration (CI)", "DevSecOps"
    names = [c for c in nov if c.endswith(" rate %")]
    assert any(n.startswith(scm) for n in names)
    assert (nov[f"{scm} adopted"], nov[f"{scm} eligible"], nov[f"{scm} rate %"]) == (
        "2",
        "3",
        "66.7",
    )
    assert (nov[f"{ci} adopted"], nov[f"{ci} rate %"]) == ("1", "33.3")
    assert (nov[f"{devsecops} adopted"], nov[f"{devsecops} eligible"]) == ("0", "1")
    assert (oct_[f"{ci} adopted"], oct_[f"{ci} eligible"], oct_[f"{ci} rate %"]) == (
        "1",
        "2",
        "50.0",
    )


def test_utilization_seats_and_renewal_forecast(client, manager, book):
    client.force_login(manager)
    bands = _by(_table(client, "utilization"), "Utilization")
    assert {k: v["Accounts"] for k, v in bands.items() if v["Accounts"] != "0"} == {
        "No data": "1",
        "25–50%": "1",
        "90–100%": "1",
    }
    seats = {row["Seats"]: row["Count"] for row in _table(client, "seats")}
    assert seats["Seats bought"] == "250"
    assert seats["Billable users"] == "120"
    assert seats["Seats unused"] == "80"
    assert seats["Users over license (true-up today)"] == "0"
    this, following = _table(client, "renewals")
    assert this["From"] == timezone.localdate().isoformat()
    assert (this["Renewing accounts"], this["Seats bought"]) == ("2", "150")
    assert this["Forecast billable users"] == "130"
    assert (this["Forecast true-up seats"], this["Accounts over license"]) == ("30", "1")
    assert following["From"] == _next_quarter(timezone.localdate()).isoformat()
    assert (following["Renewing accounts"], following["Forecast true-up seats"]) == ("1", "0")


def test_time_to_value_takes_medians_by_customer_start_quarter(client, manager, book):
    client.force_login(manager)
    rows = _by(_table(client, "time-to-value"), "Customer start")
    assert list(rows) == ["2025 Q4", "2026 Q1"]
    q1 = rows["2026 Q1"]
    assert (q1["Customers"], q1["Reached 10%"], q1["Median days to 10%"]) == ("2", "2", "30.0")
    assert (q1["Reached 50%"], q1["Median days to 50%"]) == ("1", "60")
    assert (q1["Reached 80%"], q1["Median days to 80%"]) == ("0", "")
    assert rows["2025 Q4"]["Median days to 10%"] == "100"


def test_movers_name_the_measure_that_moved_them(client, manager, book):
    client.force_login(manager)
    rows = _table(client, "movers")
    assert [(r["Direction"], r["Account"], r["Was"], r["Now"], r["Change"]) for r in rows] == [
        ("fell", "Acme", "green", "red", "-25.0"),
        ("rose", "Beta", "yellow", "green", "13.0"),
    ]
    assert rows[0]["What moved it"] == "CI: green → red"
    assert rows[1]["What moved it"] == "CI: yellow → green"


def test_alert_volume_by_kind_with_median_days_to_close(client, manager, book):
    client.force_login(manager)
    rows = _by(_table(client, "alerts"), "Kind")
    assert set(rows) == {
        "Utilization fell ≥ 10 points month over month",
        "Seats over license (true-up)",
    }  # the old and the other team's alerts are left out
    dropped = rows["Utilization fell ≥ 10 points month over month"]
    assert (dropped["Opened"], dropped["Closed"], dropped["Median days to close"]) == (
        "1",
        "1",
        "3.0",
    )
    over = rows["Seats over license (true-up)"]
    assert (over["Opened"], over["Still open"], over["Median days to close"]) == ("1", "1", "")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"tier": "ultimate"}, {"red": 1}),
        ({"priority": "2"}, {"green": 1}),
        ({"priority": "3", "lifecycle": "onboarding"}, {"yellow": 1}),
        ({"lifecycle": "adoption"}, {}),
        ({"tier": "bogus", "priority": "9"}, {"red": 1, "yellow": 1, "green": 1}),  # ignored
    ],
)
def test_filters_narrow_every_chart(client, manager, book, query, expected):
    client.force_login(manager)
    rows = _table(client, "health", **query)
    latest = rows[-1] if rows else {}
    counts = {c: int(latest.get(f"{c.title()} accounts", 0)) for c in ("red", "yellow", "green")}
    assert {c: n for c, n in counts.items() if n} == expected


def test_role_rules_a_csm_sees_the_team_an_admin_the_book_an_outsider_their_own(
    client, owner, outsider, admin_user, book
):
    def green_now(user, **query):
        client.force_login(user)
        return int(_table(client, "health", **query)[-1]["Green accounts"])

    assert green_now(owner) == 1  # Beta, a teammate's account
    assert green_now(outsider) == 1  # Zeta only
    assert green_now(admin_user) == 2
    assert green_now(admin_user, team=str(owner.team_id)) == 1
    client.force_login(outsider)
    assert _table(client, "health", team=str(owner.team_id)) == []  # another team: nothing


def test_the_page_renders_every_chart_with_its_table(client, manager, book):
    client.force_login(manager)
    response = client.get(reverse("insights"))
    assert response.status_code == 200
    html = response.content.decode()
    for key in (
        "health",
        "platform",
        "use-cases",
        "utilization",
        "seats",
        "renewals",
        "time-to-value",
        "movers",
        "alerts",
    ):
        assert f'id="{key}"' in html
        assert reverse("insight-csv", args=[key]) in html
    assert html.count("<svg") == 8  # every insight but movers, which is a table
    assert "Zeta" not in html
    assert "Acme" in html  # a mover, linked to its account page
    assert reverse("account-detail", args=[book["acme"].pk]) in html


def test_an_empty_book_says_so(client, outsider):
    client.force_login(outsider)
    response = client.get(reverse("insights"))
    assert b"No scores yet" in response.content
    assert client.get(reverse("insight-csv", args=["health"])).content == b""


def test_anonymous_users_go_to_login_and_unknown_insights_404(client, manager, book):
    assert client.get(reverse("insights")).status_code == 302
    assert client.get(reverse("insight-csv", args=["health"])).status_code == 302
    client.force_login(manager)
    assert client.get(reverse("insight-csv", args=["nope"])).status_code == 404


def test_queries_do_not_grow_with_the_book(client, manager, book, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(manager)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("insights"))
    for n in range(12):
        extra = AccountFactory(owner=book["acme"].owner, name=f"More {n}")
        _week(extra, NOW, colour="green", score=75, adoption=1, use_cases={"scm": "green"})
        _week(extra, BEFORE, colour="red", score=40, adoption=0, use_cases={})
    with CaptureQueriesContext(connection) as large:
        client.get(reverse("insights"))
    assert len(large.captured_queries) == len(small.captured_queries)


def test_a_recompute_rolls_the_snapshot_into_its_week(owner):
    customer = _customer(owner=owner, name="Acme Bank", seats=200, billable=50)
    accounts_recompute(account_ids=[customer.pk])
    snapshot = ScoreSnapshot.objects.get(account=customer)
    week = WeeklyHealth.objects.get(account=customer)
    assert week.week.weekday() == 0 and week.as_of == snapshot.as_of
    assert (week.colour, week.score, week.snapshot_id) == (
        snapshot.overall_colour,
        snapshot.overall_score,
        snapshot.pk,
    )
    assert (week.tier, week.arr, week.licensed_seats, week.billable_users) == (
        "premium",
        34800,
        200,
        50,
    )


def test_a_lapsed_subscription_adds_no_arr_to_the_week(owner):
    customer = _customer(owner=owner, name="Acme Bank")
    SubscriptionFactory(
        account=customer,
        arr=Decimal("99999"),
        start_date=dt.date(2023, 1, 1),
        renewal_date=dt.date(2024, 1, 1),  # not renewed
    )
    accounts_recompute(account_ids=[customer.pk])
    assert WeeklyHealth.objects.get(account=customer).arr == 34800


def test_a_replayed_earlier_day_never_overwrites_the_end_of_its_week(owner):
    customer = _customer(owner=owner, name="Acme Bank")
    today = timezone.localdate()
    accounts_recompute(account_ids=[customer.pk])
    monday = today - dt.timedelta(days=today.weekday())
    if monday == today:
        pytest.skip("today is a Monday: no earlier day in this week to replay")
    accounts_recompute(account_ids=[customer.pk], as_of=monday)
    assert WeeklyHealth.objects.get(account=customer).as_of == today
    assert Account.objects.count() == 1
