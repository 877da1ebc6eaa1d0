"""Seed scorecard v1, published: DESIGN.md's default rubric, every number as data."""

from django.db import migrations
from django.utils import timezone

S = "usage_activity_by_stage_monthly"
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

GROUPS = [
    ("product", "Product", 50),
    ("risk", "Risk", 25),
    ("outcomes", "Outcomes", 10),
    ("voice", "Voice of customer", 5),
    ("engagement", "Engagement", 10),
]
USE_CASES = [("scm", 15), ("ci", 15), ("devsecops", 15), ("cd", 15)]


def band(green, green_incl=True, yellow=None, yellow_incl=True, **where):
    return {
        "green_from": green,
        "green_inclusive": green_incl,
        "yellow_from": yellow,
        "yellow_inclusive": yellow_incl,
        **where,
    }


# key, name, kind, group, use case, weight, numerator, denominator, unit, tier, bands, extra
MEASURES = [
    (
        "license_utilization",
        "License utilization",
        "license_utilization",
        "product",
        None,
        30,
        [],
        [],
        "%",
        "free",
        [
            band(0.50, False, 0.10, True, min_tenure_months=3, max_tenure_months=6),
            band(0.75, False, 0.50, False, min_tenure_months=7, max_tenure_months=9),
            band(0.75, False, None, True, min_tenure_months=10),
        ],
        {},
    ),
    (
        "user_engagement",
        "User engagement",
        "ratio",
        "product",
        None,
        10,
        ["redis_hll_counters.manage.unique_active_users_monthly"],
        ["billable_users"],
        "%",
        "free",
        [band(0.80, True, 0.50, True)],
        {},
    ),
    (
        "scm_git_users",
        "Git-operation users ÷ billable",
        "ratio",
        None,
        "scm",
        1,
        [f"{S}.create.action_monthly_active_users_project_repo"],
        ["billable_users"],
        "%",
        "free",
        [band(0.50, True, 0.25, True)],
        {},
    ),
    (
        "ci_pipeline_users",
        "Pipeline users ÷ billable",
        "ratio",
        None,
        "ci",
        1,
        [f"{S}.verify.ci_pipelines"],
        ["billable_users"],
        "%",
        "free",
        [band(0.333, False, 0.10, False)],
        {},
    ),
    (
        "cd_deploying_users",
        "Deploying users ÷ billable",
        "ratio",
        None,
        "cd",
        1,
        [f"{S}.release.deployments"],
        ["billable_users"],
        "%",
        "free",
        [band(0.12, False, 0.05, True)],
        {},
    ),
    (
        "cd_deployments",
        "Deployments in 28 days ÷ billable",
        "ratio",
        None,
        "cd",
        1,
        ["counts_monthly.deployments"],
        ["billable_users"],
        "",
        "free",
        [band(7, False, 2, True)],
        {},
    ),
    (
        "cd_success_rate",
        "Successful deployments",
        "ratio",
        None,
        "cd",
        1,
        ["counts_monthly.successful_deployments"],
        ["counts_monthly.successful_deployments", "counts_monthly.failed_deployments"],
        "%",
        "free",
        [band(0.80, False, 0.25, True)],
        {},
    ),
    (
        "devsecops_scanner_users",
        "Secure-scanner users ÷ billable",
        "ratio",
        None,
        "devsecops",
        1,
        [f"{S}.secure.user_unique_users_all_secure_scanners"],
        ["billable_users"],
        "%",
        "ultimate",
        [band(0.20, True, 0.05, False)],
        {},
    ),
    (
        "devsecops_scans_per_pipeline",
        "Scans per pipeline",
        "ratio",
        None,
        "devsecops",
        1,
        SCANS,
        ["counts_monthly.ci_internal_pipelines"],
        "",
        "ultimate",
        [band(0.5, False, 0.1, True)],
        {},
    ),
    (
        "devsecops_scanner_types",
        "Scanner types in use",
        "nonzero_count",
        None,
        "devsecops",
        1,
        SCANS,
        [],
        "",
        "ultimate",
        [band(3, True, 2, True)],
        {},
    ),
    ("sentiment", "CSM sentiment", "sentiment", "risk", None, 1, [], [], "", "free", [], {}),
    ("outcomes", "Outcomes", "outcomes", "outcomes", None, 1, [], [], "", "free", [], {}),
    (
        "support_tickets",
        "Support tickets (30 days)",
        "support_tickets",
        "voice",
        None,
        1,
        [],
        [],
        "",
        "free",
        [band(5, True, 15, True)],
        {"higher_is_better": False},
    ),
    (
        "meeting_cadence",
        "Days since last meeting",
        "meeting_cadence",
        "engagement",
        None,
        50,
        [],
        [],
        "",
        "free",
        [band(35, True, 60, True, priorities=[1]), band(65, True, 90, True, priorities=[2, 3])],
        {"higher_is_better": False},
    ),
    (
        "persona_coverage",
        "Dev and security leads met (90 days)",
        "persona_coverage",
        "engagement",
        None,
        50,
        [],
        [],
        "",
        "free",
        [band(2, True, 1, True)],
        {"personas": ["dev-lead", "security-lead"]},
    ),
]


def seed(apps, schema_editor):
    Scorecard = apps.get_model("scoring", "Scorecard")
    Group = apps.get_model("scoring", "ScorecardGroup")
    ScorecardUseCase = apps.get_model("scoring", "ScorecardUseCase")
    Measure = apps.get_model("scoring", "Measure")
    Band = apps.get_model("scoring", "Band")
    UseCase = apps.get_model("accounts", "UseCase")
    if Scorecard.objects.exists():
        return
    card = Scorecard.objects.create(
        version=1,
        status="published",
        notes="Default rubric (DESIGN.md).",
        published_at=timezone.now(),
    )
    groups = {
        key: Group.objects.create(scorecard=card, key=key, name=name, weight=weight, position=i)
        for i, (key, name, weight) in enumerate(GROUPS)
    }
    use_cases = {u.key: u for u in UseCase.objects.filter(key__in=[k for k, _ in USE_CASES])}
    for key, weight in USE_CASES:
        if key in use_cases:
            ScorecardUseCase.objects.create(
                scorecard=card, use_case=use_cases[key], group=groups["product"], weight=weight
            )
    for position, (
        key,
        name,
        kind,
        group,
        use_case,
        weight,
        numerator,
        denominator,
        unit,
        tier,
        bands,
        extra,
    ) in enumerate(MEASURES):
        if use_case and use_case not in use_cases:
            continue
        measure = Measure.objects.create(
            scorecard=card,
            key=key,
            name=name,
            kind=kind,
            group=groups.get(group),
            use_case=use_cases.get(use_case),
            weight=weight,
            numerator=numerator,
            denominator=denominator,
            unit=unit,
            required_tier=tier,
            position=position,
            **extra,
        )
        for spec in bands:
            Band.objects.create(measure=measure, **spec)


def unseed(apps, schema_editor):
    apps.get_model("scoring", "Scorecard").objects.filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0003_scorecard_and_results"),
        ("accounts", "0004_use_case_override"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
