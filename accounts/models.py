"""The CRM side of UsageHub: people, customer accounts and what CSMs record about them.

Invariants that must hold whatever door a row comes in by (admin, API, services,
raw SQL) are database constraints, not ``save()`` logic.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in: a CSM, a team manager or an admin."""

    class Role(models.TextChoices):
        CSM = "csm", "CSM"
        MANAGER = "manager", "Manager"
        ADMIN = "admin", "Admin"

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CSM)

    @property
    def is_usagehub_admin(self) -> bool:
        return self.is_superuser or self.role == self.Role.ADMIN


class Tier(models.TextChoices):
    FREE = "free", "Free"
    PREMIUM = "premium", "Premium"
    ULTIMATE = "ultimate", "Ultimate"


class LifecycleStage(models.TextChoices):
    ONBOARDING = "onboarding", "Onboarding"
    IMPLEMENTATION = "implementation", "Implementation"
    ADOPTION = "adoption", "Adoption"
    OPTIMIZE = "optimize", "Optimize & grow"


class Account(models.Model):
    """A customer, mirrored from the CRM and keyed by its CRM id."""

    class Priority(models.IntegerChoices):
        HIGH = 1, "1 — high touch"
        MEDIUM = 2, "2 — medium touch"
        LOW = 3, "3 — low touch"

    Lifecycle = LifecycleStage

    name = models.CharField(max_length=200)
    crm_id = models.CharField("CRM id", max_length=64, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    lifecycle_stage = models.CharField(
        max_length=20, choices=Lifecycle.choices, default=Lifecycle.ONBOARDING
    )
    customer_since = models.DateField(null=True, blank=True)
    strategy = models.TextField("strategy / highlights", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(priority__in=[1, 2, 3]), name="account_priority_1_3"
            ),
            models.CheckConstraint(condition=~Q(crm_id=""), name="account_crm_id_not_blank"),
            models.CheckConstraint(
                condition=Q(lifecycle_stage__in=LifecycleStage.values),
                name="account_lifecycle_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="subscriptions")
    external_id = models.CharField(max_length=64, unique=True)
    plan = models.CharField(max_length=10, choices=Tier.choices, default=Tier.PREMIUM)
    licensed_seats = models.PositiveIntegerField(default=0)
    arr = models.DecimalField("ARR", max_digits=14, decimal_places=2, default=0)
    start_date = models.DateField()
    renewal_date = models.DateField()
    license_id = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="The license id installations report; matches pings from unknown instances.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-renewal_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(renewal_date__gt=models.F("start_date")),
                name="subscription_renewal_after_start",
            ),
            models.CheckConstraint(
                condition=Q(licensed_seats__gte=0), name="subscription_seats_gte_0"
            ),
            models.CheckConstraint(condition=Q(arr__gte=0), name="subscription_arr_gte_0"),
            models.CheckConstraint(
                condition=~Q(external_id=""), name="subscription_ext_id_not_blank"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} — {self.get_plan_display()} ({self.external_id})"


class Instance(models.Model):
    """A reporting installation: a self-managed instance (Service Ping uuid) or a SaaS namespace."""

    class Type(models.TextChoices):
        PRODUCTION = "production", "Production"
        NON_PRODUCTION = "non_production", "Non-production"
        GEO_SECONDARY = "geo_secondary", "Geo secondary"
        OBSOLETE = "obsolete", "Obsolete"
        UNKNOWN = "unknown", "Unknown"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="instances")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="instances"
    )
    uuid = models.CharField("instance uuid", max_length=64, null=True, blank=True, unique=True)
    namespace_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    instance_type = models.CharField(max_length=20, choices=Type.choices, default=Type.UNKNOWN)
    included_in_health = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "hostname"]
        constraints = [
            # Exactly one identity: a self-managed uuid or a SaaS namespace id.
            models.CheckConstraint(
                condition=(Q(uuid__isnull=False) & Q(namespace_id__isnull=True) & ~Q(uuid=""))
                | (Q(uuid__isnull=True) & Q(namespace_id__isnull=False) & ~Q(namespace_id="")),
                name="instance_exactly_one_identity",
            ),
        ]

    def __str__(self) -> str:
        return self.hostname or self.uuid or f"namespace {self.namespace_id}"

    @property
    def identity(self) -> str:
        return self.uuid or f"namespace:{self.namespace_id}"


class Persona(models.Model):
    """A role met in customer meetings (dev lead, security lead, executive sponsor...)."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UseCase(models.Model):
    """A product use case (SCM, CI, CD, DevSecOps or admin-defined) and its adoption checklist."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    required_tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.FREE)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Comparison(models.TextChoices):
    GTE = "gte", "≥"
    GT = "gt", ">"
    LTE = "lte", "≤"
    LT = "lt", "<"
    EQ = "eq", "="


class ChecklistItem(models.Model):
    """One step toward adopting a use case; metric items tick themselves from usage data."""

    class Kind(models.TextChoices):
        MANUAL = "manual", "Manual (a CSM ticks it)"
        METRIC = "metric", "Metric-driven"

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="checklist_items")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MANUAL)
    metric_key_path = models.CharField(max_length=255, blank=True)
    comparison = models.CharField(max_length=3, choices=Comparison.choices, blank=True)
    target_value = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["use_case", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="manual")
                | (~Q(metric_key_path="") & ~Q(comparison="") & Q(target_value__isnull=False)),
                name="checklist_metric_item_has_condition",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class AccountUseCase(models.Model):
    """An account's adoption of one use case, with who last changed it and why."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        ADOPTED = "adopted", "Adopted"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    # No index of its own: the (account, use case) unique index leads with it. Each extra
    # index costs every link a book's first scoring writes (one per account and use case).
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="use_cases", db_index=False
    )
    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="accounts")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    computed_status = models.CharField(
        max_length=20,
        choices=Status.choices,
        blank=True,
        help_text="What the use case's colour says; status follows it unless overridden.",
    )
    override_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    reason = models.TextField("reason when not adopted", blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # see Meta.indexes
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "use_case__position"]
        indexes = [  # only CSM edits name a user: scoring's rows stay out of the index
            models.Index(
                fields=["updated_by"],
                condition=Q(updated_by__isnull=False),
                name="account_use_case_updated_by",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["account", "use_case"], name="account_use_case_unique"),
            models.CheckConstraint(
                condition=Q(override_status="") | ~Q(reason=""),
                name="account_use_case_override_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} · {self.use_case}"


class ChecklistProgress(models.Model):
    """A ticked checklist item of one account use case."""

    # No index of its own: the (account use case, item) unique index leads with it.
    account_use_case = models.ForeignKey(
        AccountUseCase, on_delete=models.CASCADE, related_name="progress", db_index=False
    )
    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="progress")
    done = models.BooleanField(default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # see Meta.indexes
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "checklist progress"
        indexes = [  # metric items tick themselves (no user): ~10 rows per account
            models.Index(
                fields=["changed_by"],
                condition=Q(changed_by__isnull=False),
                name="checklist_progress_changed_by",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account_use_case", "item"], name="checklist_progress_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item}: {'done' if self.done else 'open'}"


class Objective(models.Model):
    """A customer outcome the account is working toward, with success criteria."""

    class Category(models.TextChoices):
        ADOPTION = "adoption", "Use-case adoption"
        BUSINESS = "business", "Business outcome / ROI"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ACHIEVED = "achieved", "Achieved"
        MISSED = "missed", "Missed"
        ABANDONED = "abandoned", "Abandoned"

    CLOSED_STATUSES = (Status.ACHIEVED, Status.MISSED, Status.ABANDONED)

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="objectives")
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=10, choices=Category.choices, default=Category.ADOPTION)
    use_case = models.ForeignKey(
        UseCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="objectives"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    priority = models.PositiveSmallIntegerField(
        choices=Account.Priority.choices, default=Account.Priority.MEDIUM
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    due_date = models.DateField(null=True, blank=True)
    baseline = models.TextField(blank=True)
    success_criteria = models.TextField(blank=True)
    metric_key_path = models.CharField(max_length=255, blank=True)
    comparison = models.CharField(max_length=3, choices=Comparison.choices, blank=True)
    target_value = models.FloatField(null=True, blank=True)
    outcome_summary = models.TextField(blank=True)
    last_validated_on = models.DateField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["status", "due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["achieved", "missed", "abandoned"])
                | (~Q(outcome_summary="") & Q(closed_at__isnull=False)),
                name="objective_closed_has_outcome",
            ),
            models.CheckConstraint(
                condition=Q(metric_key_path="")
                | (~Q(comparison="") & Q(target_value__isnull=False)),
                name="objective_metric_has_target",
            ),
            models.CheckConstraint(
                condition=Q(priority__in=[1, 2, 3]), name="objective_priority_1_3"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES


class Milestone(models.Model):
    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=200)
    due_date = models.DateField(null=True, blank=True)
    completed_on = models.DateField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["objective", "position", "id"]

    def __str__(self) -> str:
        return self.title


class RAG(models.TextChoices):
    RED = "red", "Red"
    YELLOW = "yellow", "Yellow"
    GREEN = "green", "Green"


class ActivityKind(models.TextChoices):
    NOTE = "note", "Note"
    MEETING = "meeting", "Meeting"
    SENTIMENT = "sentiment", "CSM sentiment"
    SUPPORT_TICKETS = "support_tickets", "Support tickets"
    SYSTEM = "system", "System event"


class Activity(models.Model):
    """One entry of an account's timeline."""

    Kind = ActivityKind

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField(db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(blank=True)
    sentiment = models.CharField(max_length=6, choices=RAG.choices, blank=True)
    ticket_count = models.PositiveIntegerField(null=True, blank=True)
    personas = models.ManyToManyField(Persona, blank=True, related_name="meetings")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["account", "kind", "-occurred_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ActivityKind.values), name="activity_kind_valid"
            ),
            # A sentiment entry carries a colour and a reason; nothing else carries a colour.
            models.CheckConstraint(
                condition=(
                    Q(kind="sentiment") & Q(sentiment__in=["red", "yellow", "green"]) & ~Q(body="")
                )
                | (~Q(kind="sentiment") & Q(sentiment="")),
                name="activity_sentiment_only_on_sentiment",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="support_tickets")
                    & Q(ticket_count__isnull=False)
                    & Q(ticket_count__gte=0)
                )
                | (~Q(kind="support_tickets") & Q(ticket_count__isnull=True)),
                name="activity_ticket_count_only_on_tickets",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.occurred_at:%Y-%m-%d}"


class ApiKey(models.Model):
    """A hashed, scoped, revocable credential for integrations: ``Authorization: Api-Key <key>``.

    A key with a user acts as that user for access checks; a key without one is a
    service key that may reach every account (an ingestion collector, a CRM sync).
    """

    class Scope(models.TextChoices):
        INGEST = "ingest", "Ingest usage data"
        READ = "read", "Read"
        WRITE = "write", "Write"

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text="Leave empty for a service key that sees every account.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
