"""The scorecard as data: groups, weights, measures and their colour bands, versioned.

Every number of the rubric lives in these rows (seeded from DESIGN.md's defaults), so
admins change scoring without a deploy. Only a draft may be edited; publishing one
retires the previous version, and every snapshot names the version that produced it.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from accounts.models import Tier, UseCase


class Scorecard(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    notes = models.TextField(blank=True, help_text="What changed in this version, and why.")
    red_points = models.FloatField(default=25)
    yellow_points = models.FloatField(default=63)
    green_points = models.FloatField(default=88)
    use_case_yellow_above = models.FloatField(
        default=50, help_text="A use case's mean points above this is yellow (at most: red)."
    )
    use_case_green_above = models.FloatField(
        default=75, help_text="A use case's mean points above this is green."
    )
    overall_yellow_from = models.FloatField(default=50)
    overall_green_from = models.FloatField(default=75)
    platform_adoption_min = models.PositiveSmallIntegerField(
        default=3, help_text="Green use cases needed for platform adoption."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="published"), name="one_published_scorecard"
            ),
            models.CheckConstraint(
                condition=Q(red_points__lt=models.F("yellow_points"))
                & Q(yellow_points__lt=models.F("green_points")),
                name="scorecard_points_ordered",
            ),
            models.CheckConstraint(
                condition=Q(overall_yellow_from__lt=models.F("overall_green_from"))
                & Q(use_case_yellow_above__lt=models.F("use_case_green_above")),
                name="scorecard_bands_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Scorecard v{self.version} ({self.get_status_display()})"


class ScorecardGroup(models.Model):
    """A top-level group of the overall score (Product, Risk, Outcomes...) and its weight."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="groups")
    key = models.SlugField(max_length=30)
    name = models.CharField(max_length=60)
    weight = models.FloatField(help_text="Share of the overall score, e.g. 50 for 50%.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "position"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "key"], name="group_key_unique"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="group_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.weight:g})"


class ScorecardUseCase(models.Model):
    """A use case's weight inside a group: its score is the mean points of its measures."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="use_cases")
    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(ScorecardGroup, on_delete=models.CASCADE, related_name="use_cases")
    weight = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard", "use_case"], name="scorecard_use_case_once"
            ),
            models.CheckConstraint(condition=Q(weight__gt=0), name="use_case_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.use_case} ({self.weight:g})"


class Measure(models.Model):
    """What to compute, and how its value maps to a colour (through its bands)."""

    class Kind(models.TextChoices):
        RATIO = "ratio", "Ratio: Σ numerator metrics ÷ Σ denominator metrics"
        NONZERO_COUNT = "nonzero_count", "Count of numerator metrics above zero"
        LICENSE_UTILIZATION = "license_utilization", "License utilization (billable ÷ seats)"
        SENTIMENT = "sentiment", "CSM sentiment (latest entry)"
        OUTCOMES = "outcomes", "Outcomes (objectives and strategy)"
        SUPPORT_TICKETS = "support_tickets", "Support tickets in the last 30 days"
        MEETING_CADENCE = "meeting_cadence", "Days since the last meeting"
        PERSONA_COVERAGE = "persona_coverage", "Key personas met in the last 90 days"

    BILLABLE = "billable_users"  # the denominator every per-user ratio shares

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="measures")
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    group = models.ForeignKey(
        ScorecardGroup,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="measures",
        help_text="For a measure scored on its own; leave empty for a use case's measure.",
    )
    use_case = models.ForeignKey(
        UseCase,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="measures",
        help_text="For a measure that counts toward a use case's score.",
    )
    weight = models.FloatField(default=1, help_text="Weight inside its group.")
    numerator = models.JSONField(default=list, blank=True, help_text="Metric key paths, summed.")
    denominator = models.JSONField(
        default=list,
        blank=True,
        help_text='Metric key paths, summed; "billable_users" for the billable users.',
    )
    personas = models.JSONField(default=list, blank=True, help_text="Persona keys to cover.")
    unit = models.CharField(max_length=10, blank=True, help_text='"%" shows ratios as percent.')
    higher_is_better = models.BooleanField(default=True)
    required_tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.FREE)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "key"], name="measure_key_unique"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="measure_weight_positive"),
            models.CheckConstraint(
                condition=Q(group__isnull=False) | Q(use_case__isnull=False),
                name="measure_in_group_or_use_case",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from scoring.models.usage import MetricDefinition

        paths = [p for p in [*self.numerator, *self.denominator] if p != self.BILLABLE]
        if self.kind in (self.Kind.RATIO, self.Kind.NONZERO_COUNT) and not self.numerator:
            raise ValidationError({"numerator": "This kind of measure needs numerator metrics."})
        if self.kind == self.Kind.RATIO and not self.denominator:
            raise ValidationError({"denominator": "A ratio needs a denominator."})
        known = set(
            MetricDefinition.objects.filter(key_path__in=paths).values_list("key_path", flat=True)
        )
        if missing := [p for p in paths if p not in known]:
            raise ValidationError(
                {"numerator": f"Not in the metrics dictionary: {', '.join(missing)}."}
            )


class Band(models.Model):
    """Where yellow and green start for a measure, optionally only for some accounts.

    For higher-is-better measures a value at or above ``green_from`` (above, when not
    inclusive) is green, else at or above ``yellow_from`` is yellow, else red; for
    lower-is-better ones the same with "at or below". No ``yellow_from`` means no yellow.
    A band may apply only to a tenure range (months since customer-since) or to some
    account priorities; the most specific matching band wins. No band: no score.
    """

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="bands")
    min_tenure_months = models.PositiveSmallIntegerField(null=True, blank=True)
    max_tenure_months = models.PositiveSmallIntegerField(null=True, blank=True)
    priorities = models.JSONField(default=list, blank=True, help_text="e.g. [2, 3]; empty: all.")
    yellow_from = models.FloatField(null=True, blank=True)
    yellow_inclusive = models.BooleanField(default=True)
    green_from = models.FloatField()
    green_inclusive = models.BooleanField(default=True)

    class Meta:
        ordering = ["measure", "min_tenure_months", "id"]

    def __str__(self) -> str:
        return f"band of {self.measure}"

    def clean(self) -> None:
        if self.yellow_from is not None:
            ordered = (
                self.yellow_from <= self.green_from
                if self.measure.higher_is_better
                else self.yellow_from >= self.green_from
            )
            if not ordered:
                raise ValidationError(
                    {"yellow_from": "Bands out of order: yellow must start before green."}
                )
        if (
            self.min_tenure_months is not None
            and self.max_tenure_months is not None
            and self.min_tenure_months > self.max_tenure_months
        ):
            raise ValidationError({"max_tenure_months": "The tenure range is empty."})
