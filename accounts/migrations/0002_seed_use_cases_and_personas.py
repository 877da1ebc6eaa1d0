"""Seed the four default use cases with their adoption checklists, and the meeting personas.

Metric-driven items use 28-day key paths from GitLab's Service Ping so the
scoring engine can tick them from usage data. Admins can edit all of it; the
reverse migration removes only what this one created, by key.
"""

from django.db import migrations

M = "usage_activity_by_stage_monthly"

USE_CASES = [
    {
        "key": "scm",
        "name": "Source code management (SCM)",
        "required_tier": "free",
        "position": 1,
        "description": "Teams store code in GitLab and collaborate through merge requests.",
        "items": [
            ("manual", "Repositories migrated from the previous tool", "", "", None),
            ("manual", "Protected branches and merge request approvals configured", "", "", None),
            (
                "metric",
                "10 or more users perform git operations in 28 days",
                f"{M}.create.action_monthly_active_users_project_repo",
                "gte",
                10,
            ),
            (
                "metric",
                "Merge requests are in everyday use (50+ in 28 days)",
                f"{M}.create.merge_requests",
                "gte",
                50,
            ),
        ],
    },
    {
        "key": "ci",
        "name": "Continuous integration (CI)",
        "required_tier": "free",
        "position": 2,
        "description": "Every change is built and tested by GitLab CI pipelines.",
        "items": [
            ("manual", "Runners provisioned for the customer's workloads", "", "", None),
            ("manual", "CI templates or a shared pipeline library agreed", "", "", None),
            (
                "metric",
                "10 or more users run pipelines in 28 days",
                f"{M}.verify.ci_pipelines",
                "gte",
                10,
            ),
            (
                "metric",
                "100 or more internal pipelines in 28 days",
                f"{M}.verify.ci_internal_pipelines",
                "gte",
                100,
            ),
        ],
    },
    {
        "key": "cd",
        "name": "Continuous delivery (CD)",
        "required_tier": "free",
        "position": 3,
        "description": "Applications are deployed to environments from GitLab.",
        "items": [
            ("manual", "Environments defined for staging and production", "", "", None),
            ("manual", "Deployment approvals or protected environments set up", "", "", None),
            (
                "metric",
                "Deployments run from GitLab (20+ in 28 days)",
                "counts_monthly.deployments",
                "gte",
                20,
            ),
            ("metric", "5 or more users deploy in 28 days", f"{M}.release.deployments", "gte", 5),
        ],
    },
    {
        "key": "devsecops",
        "name": "DevSecOps",
        "required_tier": "ultimate",
        "position": 4,
        "description": "Security scanners run in pipelines and findings are triaged in GitLab.",
        "items": [
            ("manual", "Security policies and vulnerability triage owner agreed", "", "", None),
            ("metric", "SAST runs in pipelines", f"{M}.secure.sast_scans", "gt", 0),
            (
                "metric",
                "Dependency scanning runs in pipelines",
                f"{M}.secure.dependency_scanning_scans",
                "gt",
                0,
            ),
            (
                "metric",
                "Secret detection runs in pipelines",
                f"{M}.secure.secret_detection_scans",
                "gt",
                0,
            ),
            (
                "metric",
                "5 or more users run security scanners in 28 days",
                f"{M}.secure.user_unique_users_all_secure_scanners",
                "gte",
                5,
            ),
        ],
    },
]

PERSONAS = [
    ("dev-lead", "Development lead"),
    ("security-lead", "Security lead"),
    ("executive-sponsor", "Executive sponsor"),
    ("platform-owner", "Platform / DevOps owner"),
    ("champion", "Champion"),
    ("procurement", "Procurement"),
]


def seed(apps, schema_editor):
    UseCase = apps.get_model("accounts", "UseCase")
    ChecklistItem = apps.get_model("accounts", "ChecklistItem")
    Persona = apps.get_model("accounts", "Persona")
    for spec in USE_CASES:
        use_case, created = UseCase.objects.get_or_create(
            key=spec["key"],
            defaults={k: spec[k] for k in ("name", "description", "required_tier", "position")},
        )
        if created:
            ChecklistItem.objects.bulk_create(
                ChecklistItem(
                    use_case=use_case,
                    position=position,
                    kind=kind,
                    title=title,
                    metric_key_path=key_path,
                    comparison=comparison,
                    target_value=target,
                )
                for position, (kind, title, key_path, comparison, target) in enumerate(
                    spec["items"], 1
                )
            )
    for key, name in PERSONAS:
        Persona.objects.get_or_create(key=key, defaults={"name": name})


def unseed(apps, schema_editor):
    apps.get_model("accounts", "UseCase").objects.filter(
        key__in=[s["key"] for s in USE_CASES]
    ).delete()
    apps.get_model("accounts", "Persona").objects.filter(key__in=[k for k, _ in PERSONAS]).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
