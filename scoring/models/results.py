"""What scoring produces: a snapshot (with its ledger) per account per day, and alerts."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import RAG, Account, Tier
from scoring.models.scorecard import Scorecard


class ScoreSnapshot(models.Model):
    """One computation of an account's health, explainable from its own ledger.

    ``ledger`` holds, per measure: inputs, value, colour, points, weight,
    contribution, freshness, the band used and the path to the next band.
    """

    # No index of its own: both indexes below lead with it.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="snapshots", db_index=False
    )
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="snapshots")
    as_of = models.DateField(help_text="The day the inputs describe.")
    computed_at = models.DateTimeField()
    inputs_hash = models.CharField(max_length=64)
    overall_score = models.FloatField(null=True, blank=True)
    overall_colour = models.CharField(max_length=6, choices=RAG.choices, blank=True)
    sentiment_override = models.BooleanField(default=False)
    adoption_count = models.PositiveSmallIntegerField(default=0)
    platform_adoption = models.BooleanField(default=False)
    utilization = models.FloatField(null=True, blank=True)
    billable_users = models.BigIntegerField(null=True, blank=True)
    licensed_seats = models.BigIntegerField(null=True, blank=True)
    ledger = models.JSONField(default=list)
    colours = models.JSONField(default=dict, help_text="Each ledger line's colour, by key.")
    use_cases = models.JSONField(default=dict)
    milestones = models.JSONField(default=dict)
    objectives = models.JSONField(default=list)
    diff = models.JSONField(default=list)

    class Meta:
        ordering = ["account", "-as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "scorecard", "as_of"], name="one_snapshot_per_day_and_version"
            ),
        ]
        indexes = [models.Index(fields=["account", "-as_of"], name="snapshot_latest")]

    def __str__(self) -> str:
        return f"{self.account} {self.as_of} v{self.scorecard_id}: {self.overall_colour}"


class Alert(models.Model):
    class Kind(models.TextChoices):
        MEASURE_DROPPED = "measure_dropped", "Product measure fell"
        OVERALL_DROPPED = "overall_dropped", "Overall health fell"
        CI_PIPELINES_DROPPED = "ci_pipelines_dropped", "CI pipelines fell ≥ 20% month over month"
        UTILIZATION_DROPPED = "utilization_dropped", "Utilization fell ≥ 10 points month over month"
        LOW_AFTER_ONBOARDING = "low_after_onboarding", "Utilization < 50% a month after onboarding"
        OVER_LICENSE = "over_license", "Seats over license (true-up)"
        EXPANSION = "expansion", "Utilization ≥ 90% (expansion opportunity)"
        INSTANCE_SILENT = "instance_silent", "An instance stopped reporting"

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        CLOSED = "closed", "Closed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    measure = models.CharField(max_length=60, blank=True, help_text="Measure key, if any.")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    message = models.TextField()
    snapshot = models.ForeignKey(
        ScoreSnapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    state = models.CharField(max_length=15, choices=State.choices, default=State.OPEN)
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="What the condition saw.")

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "measure"],
                condition=~Q(state="closed"),
                name="one_open_alert_per_account_kind_measure",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.account}"


class WeeklyHealth(models.Model):
    """An account's health at the end of one week: the narrow rollup leaders' insights read.

    Written with every snapshot (the week's latest day wins), so charts over 10,000
    accounts × 26 weeks aggregate small rows instead of wide ledgers. Tier and ARR are
    as they were that week; milestones and the forecast are the week's latest.
    """

    # No index of its own: the (account, week) unique index leads with it.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="weeks", db_index=False
    )
    week = models.DateField(help_text="The Monday of the week.")
    as_of = models.DateField(help_text="The day of the snapshot rolled up.")
    snapshot = models.ForeignKey(ScoreSnapshot, on_delete=models.CASCADE, related_name="+")
    colour = models.CharField(max_length=6, choices=RAG.choices, blank=True)
    score = models.FloatField(null=True, blank=True)
    adoption_count = models.PositiveSmallIntegerField(default=0)
    adopted = models.TextField(
        blank=True,
        help_text="Keys of the use cases adopted (green) as |scm|ci|: one LIKE per use case "
        "for the adoption charts, on a row narrow enough to scan 10,000 accounts × 26 weeks.",
    )
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.FREE)
    arr = models.BigIntegerField(
        "ARR",
        default=0,
        help_text="In whole currency units: charts need no cents, and integer sums over "
        "260,000 rows are several times faster than decimal ones.",
    )
    billable_users = models.BigIntegerField(null=True, blank=True)
    licensed_seats = models.BigIntegerField(null=True, blank=True)
    utilization = models.FloatField(null=True, blank=True)
    days_to_util_10 = models.IntegerField(null=True, blank=True)
    days_to_util_50 = models.IntegerField(null=True, blank=True)
    days_to_util_80 = models.IntegerField(null=True, blank=True)
    renewal_on = models.DateField(null=True, blank=True)
    forecast_billable = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "weekly health"
        constraints = [
            models.UniqueConstraint(fields=["account", "week"], name="one_weekly_health_per_week"),
        ]
        indexes = [models.Index(fields=["week"], name="weekly_health_week")]

    def __str__(self) -> str:
        return f"{self.account} week of {self.week}: {self.colour}"
