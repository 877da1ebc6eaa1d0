"""Scorecard versions: the published one as an engine spec, drafts, preview and publish."""

from django.db import transaction
from django.utils import timezone

from scoring import engine
from scoring.models import Band, Measure, Scorecard, ScorecardGroup, ScorecardUseCase
from usagehub.errors import DomainError


def card_spec(scorecard: Scorecard) -> engine.CardSpec:
    """The rows of one scorecard version as the engine's plain values (4 queries)."""
    groups = {g.pk: g for g in ScorecardGroup.objects.filter(scorecard=scorecard)}
    use_cases = list(
        ScorecardUseCase.objects.filter(scorecard=scorecard).select_related("use_case")
    )
    measures = list(
        Measure.objects.filter(scorecard=scorecard)
        .select_related("use_case")
        .prefetch_related("bands")
    )
    return engine.CardSpec(
        version=scorecard.version,
        groups={g.key: (g.name, g.weight) for g in groups.values()},
        use_cases=tuple(
            engine.UseCaseSpec(
                key=u.use_case.key,
                name=u.use_case.name,
                group=groups[u.group_id].key,
                weight=u.weight,
                required_tier=u.use_case.required_tier,
            )
            for u in use_cases
        ),
        measures=tuple(_measure_spec(m, groups) for m in measures),
        points={
            engine.RED: scorecard.red_points,
            engine.YELLOW: scorecard.yellow_points,
            engine.GREEN: scorecard.green_points,
        },
        use_case_yellow_above=scorecard.use_case_yellow_above,
        use_case_green_above=scorecard.use_case_green_above,
        overall_yellow_from=scorecard.overall_yellow_from,
        overall_green_from=scorecard.overall_green_from,
        platform_adoption_min=scorecard.platform_adoption_min,
    )


def _measure_spec(measure: Measure, groups: dict[int, ScorecardGroup]) -> engine.MeasureSpec:
    return engine.MeasureSpec(
        key=measure.key,
        name=measure.name,
        kind=measure.kind,
        group=groups[measure.group_id].key if measure.group_id else None,
        use_case=measure.use_case.key if measure.use_case else None,
        weight=measure.weight,
        numerator=tuple(measure.numerator),
        denominator=tuple(measure.denominator),
        personas=tuple(measure.personas),
        unit=measure.unit,
        higher_is_better=measure.higher_is_better,
        required_tier=measure.required_tier,
        bands=tuple(_band_spec(b) for b in measure.bands.all()),
    )


def _band_spec(band: Band) -> engine.BandSpec:
    return engine.BandSpec(
        green_from=band.green_from,
        green_inclusive=band.green_inclusive,
        yellow_from=band.yellow_from,
        yellow_inclusive=band.yellow_inclusive,
        min_tenure_months=band.min_tenure_months,
        max_tenure_months=band.max_tenure_months,
        priorities=tuple(band.priorities),
    )


@transaction.atomic
def scorecard_draft_create(*, source: Scorecard) -> Scorecard:
    """A new draft, a deep copy of ``source``, to edit before publishing."""
    if Scorecard.objects.filter(status=Scorecard.Status.DRAFT).exists():
        raise DomainError("A draft already exists; edit or delete it first.", field="status")
    version = (
        Scorecard.objects.order_by("-version").values_list("version", flat=True).first() or 0
    ) + 1
    fields = {
        f.name: getattr(source, f.name)
        for f in Scorecard._meta.concrete_fields
        if f.name not in ("id", "version", "status", "created_at", "published_at", "notes")
    }
    draft = Scorecard.objects.create(
        version=version,
        status=Scorecard.Status.DRAFT,
        notes=f"Draft from v{source.version}.",
        **fields,
    )
    groups = {}
    for group in source.groups.all():
        old = group.pk
        group.pk, group.scorecard = None, draft
        group.save()
        groups[old] = group
    for use_case in source.use_cases.all():
        use_case.pk, use_case.scorecard, use_case.group = None, draft, groups[use_case.group_id]
        use_case.save()
    for measure in source.measures.prefetch_related("bands"):
        bands = list(measure.bands.all())
        measure.pk, measure.scorecard = None, draft
        measure.group = groups.get(measure.group_id) if measure.group_id else None
        measure.save()
        for band in bands:
            band.pk, band.measure = None, measure
            band.save()
    return draft


@transaction.atomic
def scorecard_publish(*, draft: Scorecard) -> Scorecard:
    """Publish a draft, retire the current version, and recompute every account."""
    if draft.status != Scorecard.Status.DRAFT:
        raise DomainError("Only a draft can be published.", field="status")
    Scorecard.objects.filter(status=Scorecard.Status.PUBLISHED).update(
        status=Scorecard.Status.RETIRED
    )
    draft.status, draft.published_at = Scorecard.Status.PUBLISHED, timezone.now()
    draft.save(update_fields=["status", "published_at"])
    from scoring.tasks import accounts_recompute_all

    transaction.on_commit(accounts_recompute_all.delay)
    return draft
