"""Golden cases for every rule of the default rubric, on the seeded scorecard v1."""

import datetime as dt

import pytest

from scoring import engine
from scoring.engine import GREEN, RED, YELLOW, BandSpec, Inputs, colour_of
from scoring.models import Scorecard
from scoring.scorecards import card_spec

S = "usage_activity_by_stage_monthly"
TODAY = dt.date(2026, 11, 28)
SCANS = [
    f"{S}.secure.{k}_scans"
    for k in (
        "sast",
        "secret_detection",
        "dependency_scanning",
        "container_scanning",
        "dast",
        "coverage_fuzzing",
        "api_fuzzing",
    )
]


@pytest.fixture
def card(db):
    return card_spec(Scorecard.objects.get(version=1))


def inputs(**overrides) -> Inputs:
    base = dict(
        as_of=TODAY,
        tier="ultimate",
        priority=2,
        customer_since=TODAY - dt.timedelta(days=400),
        billable_users=100,
        licensed_seats=100,
        last_ping_on=TODAY - dt.timedelta(days=3),
        metrics={},
        sentiment=GREEN,
        sentiment_on=TODAY - dt.timedelta(days=10),
    )
    return Inputs(**{**base, **overrides})


def colour(card, key: str, **overrides) -> str | None:
    line = engine.score(card, inputs(**overrides)).line(key)
    assert line is not None
    return line.colour


@pytest.mark.parametrize(
    ("users", "expected"),
    [(24, RED), (25, YELLOW), (49, YELLOW), (50, GREEN)],
)
def test_scm_bands_with_exact_boundaries(card, users, expected):
    metrics = {f"{S}.create.action_monthly_active_users_project_repo": users}
    assert colour(card, "scm_git_users", metrics=metrics) == expected


@pytest.mark.parametrize(
    ("users", "expected"),
    [(10, RED), (10.5, YELLOW), (33.3, YELLOW), (33.4, GREEN)],
)
def test_ci_bands_are_exclusive_at_ten_and_a_third(card, users, expected):
    metrics = {f"{S}.verify.ci_pipelines": users}
    assert (
        colour(
            card,
            "ci_pipeline_users",
            billable_users=1000,
            licensed_seats=1000,
            metrics={k: v * 10 for k, v in metrics.items()},
        )
        == expected
    )


@pytest.mark.parametrize(("users", "expected"), [(4, RED), (5, YELLOW), (12, YELLOW), (13, GREEN)])
def test_cd_deploying_users_bands(card, users, expected):
    assert (
        colour(card, "cd_deploying_users", metrics={f"{S}.release.deployments": users}) == expected
    )


@pytest.mark.parametrize(
    ("deployments", "expected"), [(199, RED), (200, YELLOW), (700, YELLOW), (701, GREEN)]
)
def test_cd_deployments_per_billable_user(card, deployments, expected):
    assert (
        colour(card, "cd_deployments", metrics={"counts_monthly.deployments": deployments})
        == expected
    )


@pytest.mark.parametrize(
    ("ok", "failed", "expected"),
    [(24, 76, RED), (25, 75, YELLOW), (80, 20, YELLOW), (81, 19, GREEN)],
)
def test_cd_success_rate(card, ok, failed, expected):
    metrics = {
        "counts_monthly.successful_deployments": ok,
        "counts_monthly.failed_deployments": failed,
    }
    assert colour(card, "cd_success_rate", metrics=metrics) == expected


@pytest.mark.parametrize(("users", "expected"), [(5, RED), (6, YELLOW), (19, YELLOW), (20, GREEN)])
def test_devsecops_scanner_users(card, users, expected):
    metrics = {f"{S}.secure.user_unique_users_all_secure_scanners": users}
    assert colour(card, "devsecops_scanner_users", metrics=metrics) == expected


@pytest.mark.parametrize(("scans", "expected"), [(9, RED), (10, YELLOW), (50, YELLOW), (51, GREEN)])
def test_devsecops_scans_per_pipeline(card, scans, expected):
    metrics = {SCANS[0]: scans, "counts_monthly.ci_internal_pipelines": 100}
    assert colour(card, "devsecops_scans_per_pipeline", metrics=metrics) == expected


@pytest.mark.parametrize(("types", "expected"), [(1, RED), (2, YELLOW), (3, GREEN), (7, GREEN)])
def test_devsecops_scanner_types(card, types, expected):
    metrics = {path: (5 if i < types else 0) for i, path in enumerate(SCANS)}
    assert colour(card, "devsecops_scanner_types", metrics=metrics) == expected


def test_devsecops_is_skipped_below_ultimate_and_its_weight_shared(card):
    result = engine.score(card, inputs(tier="premium"))
    line = result.line("devsecops")
    assert line.freshness == "not_applicable"
    assert line.weight is None
    assert result.line("devsecops_scanner_users").freshness == "not_applicable"


def test_yellow_green_yellow_use_case_is_71_3_yellow(card):
    metrics = {
        f"{S}.release.deployments": 10,  # 10% → yellow
        "counts_monthly.deployments": 800,  # 8 per user → green
        "counts_monthly.successful_deployments": 50,  # 50% → yellow
        "counts_monthly.failed_deployments": 50,
    }
    line = engine.score(card, inputs(metrics=metrics)).line("cd")
    assert line.points == 71.3
    assert line.colour == YELLOW


@pytest.mark.parametrize(
    ("months", "utilization", "expected"),
    [
        (2, 0.9, None),  # under 3 months: no score
        (4, 0.09, RED),
        (4, 0.10, YELLOW),
        (4, 0.50, YELLOW),
        (4, 0.51, GREEN),
        (8, 0.45, RED),
        (8, 0.50, RED),
        (8, 0.51, YELLOW),
        (8, 0.75, YELLOW),
        (8, 0.76, GREEN),
        (12, 0.30, RED),
        (12, 0.75, RED),
        (12, 0.76, GREEN),
    ],
)
def test_license_utilization_by_tenure(card, months, utilization, expected):
    total = TODAY.year * 12 + TODAY.month - 1 - months
    since = dt.date(total // 12, total % 12 + 1, TODAY.day)
    assert (
        colour(
            card,
            "license_utilization",
            customer_since=since,
            billable_users=utilization * 1000,
            licensed_seats=1000,
        )
        == expected
    )


@pytest.mark.parametrize(
    ("ratio", "expected"), [(0.49, RED), (0.50, YELLOW), (0.79, YELLOW), (0.80, GREEN)]
)
def test_user_engagement(card, ratio, expected):
    metrics = {"redis_hll_counters.manage.unique_active_users_monthly": ratio * 100}
    assert colour(card, "user_engagement", metrics=metrics) == expected


@pytest.mark.parametrize(
    ("tickets", "expected"), [(5, GREEN), (6, YELLOW), (15, YELLOW), (16, RED)]
)
def test_support_tickets(card, tickets, expected):
    assert colour(card, "support_tickets", tickets_30d=tickets) == expected


@pytest.mark.parametrize(
    ("priority", "days", "expected"),
    [
        (1, 35, GREEN),
        (1, 36, YELLOW),
        (1, 60, YELLOW),
        (1, 61, RED),
        (2, 65, GREEN),
        (3, 90, YELLOW),
        (3, 91, RED),
    ],
)
def test_meeting_cadence_by_priority(card, priority, days, expected):
    assert (
        colour(
            card,
            "meeting_cadence",
            priority=priority,
            last_meeting_on=TODAY - dt.timedelta(days=days),
        )
        == expected
    )


@pytest.mark.parametrize(
    ("met", "expected"),
    [
        (set(), RED),
        ({"dev-lead"}, YELLOW),
        ({"dev-lead", "security-lead"}, GREEN),
        ({"executive-sponsor"}, RED),
    ],
)
def test_persona_coverage(card, met, expected):
    assert colour(card, "persona_coverage", personas_met=frozenset(met)) == expected


@pytest.mark.parametrize(
    ("active", "draft", "strategy", "expected"),
    [(1, 0, True, GREEN), (1, 0, False, YELLOW), (0, 2, True, YELLOW), (0, 0, True, RED)],
)
def test_outcomes(card, active, draft, strategy, expected):
    assert (
        colour(
            card,
            "outcomes",
            active_objectives=active,
            draft_objectives=draft,
            has_strategy=strategy,
        )
        == expected
    )


def test_red_sentiment_forces_the_overall_colour_red(card):
    healthy = {f"{S}.create.action_monthly_active_users_project_repo": 90}
    result = engine.score(
        card,
        inputs(
            sentiment=RED, metrics=healthy, active_objectives=1, has_strategy=True, tickets_30d=0
        ),
    )
    assert result.overall_colour == RED
    assert result.sentiment_override is (result.overall_score >= 50)


def test_sentiment_goes_stale_after_90_days_and_missing_after_120(card):
    stale = engine.score(card, inputs(sentiment_on=TODAY - dt.timedelta(days=100)))
    assert stale.line("sentiment").freshness == "stale"
    assert stale.line("sentiment").colour == GREEN
    gone = engine.score(card, inputs(sentiment_on=TODAY - dt.timedelta(days=121)))
    assert gone.line("sentiment").colour is None


def test_missing_product_data_shares_its_weight_and_is_never_red(card):
    result = engine.score(
        card,
        inputs(
            last_ping_on=None,
            billable_users=None,
            tickets_30d=0,
            active_objectives=1,
            has_strategy=True,
            personas_met=frozenset({"dev-lead", "security-lead"}),
        ),
    )
    product = [line for line in result.lines if line.group == "product"]
    assert all(line.colour is None for line in product)
    # risk, outcomes, voice and persona coverage remain, all green: 88 whatever the weights
    assert result.overall_colour == GREEN
    assert result.overall_score == 88.0


def test_pings_older_than_60_days_count_as_no_product_data(card):
    metrics = {f"{S}.create.action_monthly_active_users_project_repo": 90}
    result = engine.score(card, inputs(metrics=metrics, last_ping_on=TODAY - dt.timedelta(days=61)))
    assert result.line("scm_git_users").colour is None
    assert "60 days" in result.line("scm_git_users").note


def test_first_30_days_score_only_sentiment(card):
    result = engine.score(
        card,
        inputs(customer_since=TODAY - dt.timedelta(days=10), tickets_30d=50, active_objectives=0),
    )
    scored = [line.key for line in result.lines if line.colour]
    assert scored == ["sentiment"]
    assert result.overall_score == 88.0


def test_overall_bands_at_75_and_50():
    band_card = engine.CardSpec(
        version=0,
        groups={"g": ("G", 1)},
        use_cases=(),
        measures=(
            engine.MeasureSpec(
                key="m",
                name="m",
                kind="support_tickets",
                group="g",
                higher_is_better=False,
                bands=(BandSpec(green_from=5, yellow_from=15),),
            ),
        ),
        points={RED: 49.9, YELLOW: 50, GREEN: 75},
        overall_green_from=75,
        overall_yellow_from=50,
    )
    assert engine.score(band_card, inputs(tickets_30d=0)).overall_colour == GREEN
    assert engine.score(band_card, inputs(tickets_30d=10)).overall_colour == YELLOW
    assert engine.score(band_card, inputs(tickets_30d=99)).overall_colour == RED


def test_a_measure_sharing_its_key_with_another_groups_use_case_keeps_its_weight():
    def tickets(key: str, group: str, use_case: str | None = None) -> engine.MeasureSpec:
        band = BandSpec(green_from=5, yellow_from=15)
        return engine.MeasureSpec(
            key=key,
            name=key,
            kind="support_tickets",
            group=group,
            use_case=use_case,
            higher_is_better=False,
            bands=(band,),
        )

    shared_key_card = engine.CardSpec(
        version=0,
        groups={"product": ("Product", 60), "support": ("Support", 40)},
        use_cases=(engine.UseCaseSpec(key="ci", name="CI", group="product", weight=3),),
        measures=(
            tickets("ci_tickets", "product", use_case="ci"),
            tickets("ci", "support"),
            tickets("other", "support"),
        ),
    )
    lines = engine.score(shared_key_card, inputs(tickets_30d=0)).lines
    weights = {(line.kind, line.key): line.weight for line in lines}
    assert weights[("support_tickets", "ci")] == pytest.approx(20)  # 40 × 1/2, not 40 × 3/4
    assert weights[("use_case", "ci")] == pytest.approx(60)


def test_contributions_add_up_to_the_overall_score(card):
    metrics = {
        f"{S}.create.action_monthly_active_users_project_repo": 30,
        f"{S}.verify.ci_pipelines": 40,
    }
    result = engine.score(card, inputs(metrics=metrics, tickets_30d=3, active_objectives=1))
    total = sum(line.contribution or 0 for line in result.lines)
    assert total == pytest.approx(result.overall_score, abs=0.05)


def test_path_to_next_band_counts_the_users_needed(card):
    metrics = {f"{S}.verify.ci_pipelines": 20}  # 20% of 100: yellow; green needs > 33.3
    line = engine.score(card, inputs(metrics=metrics)).line("ci_pipeline_users")
    assert line.next_band == "Pipeline users ÷ billable: 14 more → green"


def test_path_to_next_band_for_utilization_names_billable_users(card):
    line = engine.score(card, inputs(billable_users=600, licensed_seats=1000)).line(
        "license_utilization"
    )
    assert line.colour == RED
    assert line.next_band == "151 more billable users → green"


def test_failed_metric_is_missing_not_zero(card):
    result = engine.score(card, inputs(failed_metrics=frozenset({f"{S}.verify.ci_pipelines"})))
    line = result.line("ci_pipeline_users")
    assert line.colour is None
    assert "-1" in line.note


def test_colour_of_lower_is_better_without_yellow():
    band = BandSpec(green_from=5)
    assert colour_of(5, band, higher_is_better=False) == GREEN
    assert colour_of(6, band, higher_is_better=False) == RED
