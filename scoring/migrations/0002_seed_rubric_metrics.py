"""Seed the dictionary entries the default scoring rubric needs, tracked for extraction.

GitLab's shared sample lacks some of these (the license keys, several
``counts_monthly.*`` and the seven 28-day secure scan counts). Importing GitLab's
YAML later fills in their descriptions; tracking is kept.
"""

from django.db import migrations

SEED = "seed:rubric"
STAGE = "usage_activity_by_stage_monthly"
TRACKED = {
    f"{STAGE}.create.action_monthly_active_users_project_repo": (
        "database",
        "Users doing git operations (28d)",
    ),
    f"{STAGE}.create.merge_requests": ("database", "Users creating merge requests (28d)"),
    f"{STAGE}.verify.ci_pipelines": ("database", "Users running pipelines (28d)"),
    f"{STAGE}.verify.ci_internal_pipelines": ("database", "Users of internal pipelines (28d)"),
    f"{STAGE}.release.deployments": ("database", "Users deploying (28d)"),
    f"{STAGE}.secure.user_unique_users_all_secure_scanners": (
        "database",
        "Users running any secure scanner (28d)",
    ),
    f"{STAGE}.secure.sast_scans": ("database", "SAST scans (28d)"),
    f"{STAGE}.secure.secret_detection_scans": ("database", "Secret detection scans (28d)"),
    f"{STAGE}.secure.dependency_scanning_scans": ("database", "Dependency scans (28d)"),
    f"{STAGE}.secure.container_scanning_scans": ("database", "Container scans (28d)"),
    f"{STAGE}.secure.dast_scans": ("database", "DAST scans (28d)"),
    f"{STAGE}.secure.coverage_fuzzing_scans": ("database", "Coverage fuzzing scans (28d)"),
    f"{STAGE}.secure.api_fuzzing_scans": ("database", "API fuzzing scans (28d)"),
    "counts_monthly.deployments": ("database", "Deployments (28d)"),
    "counts_monthly.successful_deployments": ("database", "Successful deployments (28d)"),
    "counts_monthly.failed_deployments": ("database", "Failed deployments (28d)"),
    "counts_monthly.ci_internal_pipelines": ("database", "Internal CI pipelines (28d)"),
    "redis_hll_counters.manage.unique_active_users_monthly": (
        "redis_hll",
        "Unique active users (28d)",
    ),
}
LICENSE = {  # stored in their own columns on every ping, so not tracked
    "license_billable_users": "Billable users: active users minus bots and guests",
    "license_user_count": "Licensed seats",
    "historical_max_users": "Historical maximum of users",
}


def seed(apps, schema_editor):
    MetricDefinition = apps.get_model("scoring", "MetricDefinition")
    for key_path, (data_source, description) in TRACKED.items():
        definition, created = MetricDefinition.objects.get_or_create(
            key_path=key_path,
            defaults={
                "description": description,
                "time_frame": "28d",
                "data_source": data_source,
                "status": "active",
                "value_type": "number",
                "source_file": SEED,
            },
        )
        if not definition.is_tracked:
            definition.is_tracked = True
            definition.save(update_fields=["is_tracked"])
    for key_path, description in LICENSE.items():
        MetricDefinition.objects.get_or_create(
            key_path=key_path,
            defaults={
                "description": description,
                "time_frame": "none",
                "data_source": "license",
                "data_category": "subscription",
                "status": "active",
                "value_type": "number",
                "source_file": SEED,
            },
        )


def unseed(apps, schema_editor):
    MetricDefinition = apps.get_model("scoring", "MetricDefinition")
    MetricDefinition.objects.filter(source_file=SEED).delete()
    MetricDefinition.objects.filter(key_path__in=TRACKED).update(is_tracked=False)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
