"""The usage side: the metrics dictionary, received Service Pings and per-account usage."""

from django.db import models
from django.db.models import Q

from accounts.models import Account, Instance


class MetricDefinition(models.Model):
    """One entry of the metrics dictionary, imported from GitLab's metric definition YAML."""

    class TimeFrame(models.TextChoices):
        D7 = "7d", "7 days"
        D28 = "28d", "28 days"
        ALL = "all", "All time"
        NONE = "none", "None"

    key_path = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True)
    time_frame = models.CharField(max_length=4, choices=TimeFrame.choices, db_index=True)
    data_source = models.CharField(max_length=20, db_index=True)
    data_category = models.CharField(max_length=20, blank=True, db_index=True)
    status = models.CharField(max_length=20, db_index=True)
    value_type = models.CharField(max_length=10)
    tiers = models.JSONField(default=list, blank=True)
    product_section = models.CharField(max_length=60, blank=True)
    product_stage = models.CharField(max_length=60, blank=True)
    product_group = models.CharField(max_length=100, blank=True)
    milestone = models.CharField(max_length=20, blank=True)
    introduced_by_url = models.CharField(max_length=500, blank=True)
    instrumentation_class = models.CharField(max_length=100, blank=True)
    definition = models.JSONField(default=dict, blank=True, help_text="The file as imported.")
    source_file = models.CharField(max_length=500, blank=True)
    is_tracked = models.BooleanField(
        default=False,
        help_text="Extract this metric's value from every ping (scoring uses it).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key_path"]

    def __str__(self) -> str:
        return self.key_path


class UsagePing(models.Model):
    """One received Service Ping: identity, license fields, the raw payload and extracted values.

    Extracted values live in one JSON column (``metrics``) beside the raw payload:
    measured against narrow per-metric rows in docs/benchmarks.md.
    """

    class Source(models.TextChoices):
        API = "api", "API"
        BATCH = "batch", "API batch"
        CLI = "cli", "Command line"

    # No index of its own: ``ping_instance_latest`` (instance, -recorded_at) serves the
    # joins and the SET NULL, and one index less is cheaper on every insert.
    instance = models.ForeignKey(
        Instance,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pings",
        db_index=False,
    )
    # NULL, not "", for "no such identity": the partial unique constraints below need it.
    instance_uuid = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    namespace_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    recorded_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=5, choices=Source.choices, default=Source.API)
    version = models.CharField(max_length=50, blank=True)
    edition = models.CharField(max_length=20, blank=True)
    license_plan = models.CharField(max_length=30, blank=True)
    license_id = models.CharField(max_length=64, blank=True)
    licensed_seats = models.BigIntegerField(null=True, blank=True)
    billable_users = models.BigIntegerField(null=True, blank=True)
    active_users = models.BigIntegerField(null=True, blank=True)
    historical_max_users = models.BigIntegerField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    payload = models.JSONField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    failed_metrics = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-recorded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance_uuid", "recorded_at"],
                condition=Q(instance_uuid__isnull=False),
                name="ping_unique_uuid_recorded_at",
            ),
            models.UniqueConstraint(
                fields=["namespace_id", "recorded_at"],
                condition=Q(namespace_id__isnull=False),
                name="ping_unique_namespace_recorded_at",
            ),
            models.CheckConstraint(
                condition=Q(instance_uuid__isnull=False) | Q(namespace_id__isnull=False),
                name="ping_has_identity",
            ),
        ]
        indexes = [
            models.Index(fields=["instance", "-recorded_at"], name="ping_instance_latest"),
            models.Index(
                fields=["instance_uuid"], condition=Q(instance__isnull=True), name="ping_unmatched"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.identity} @ {self.recorded_at:%Y-%m-%d %H:%M}"

    @property
    def identity(self) -> str:
        return self.instance_uuid or f"namespace:{self.namespace_id}"


class RecomputeRequest(models.Model):
    """An account whose scores are stale: written with the ping, deleted by the recompute.

    Durability comes from this row, not from the broker: the periodic sweep enqueues
    any request whose message was lost.
    """

    account = models.OneToOneField(
        Account, primary_key=True, on_delete=models.CASCADE, related_name="recompute_request"
    )
    requested_at = models.DateTimeField()
    enqueued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recompute {self.account_id} (since {self.requested_at:%Y-%m-%d %H:%M})"


class AccountUsage(models.Model):
    """An account's current usage summary, refreshed by the recompute task."""

    account = models.OneToOneField(
        Account, primary_key=True, on_delete=models.CASCADE, related_name="usage"
    )
    last_ping_at = models.DateTimeField(null=True, blank=True)
    instances_counted = models.PositiveIntegerField(default=0)
    billable_users = models.BigIntegerField(null=True, blank=True)
    licensed_seats = models.BigIntegerField(null=True, blank=True)
    utilization = models.FloatField(null=True, blank=True, help_text="billable ÷ licensed")
    metrics = models.JSONField(default=dict, blank=True, help_text="Summed tracked metrics.")
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "account usage"

    def __str__(self) -> str:
        return f"usage of {self.account_id}"
