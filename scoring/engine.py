"""The health computation: pure functions over plain values, no ORM.

``score(card, inputs)`` turns one account's inputs into an explainable result: every
measure's value, colour, points, effective weight, contribution, freshness, the band
it was judged by and the path to the next band. The rules (points, bands, weights,
freshness, the red-sentiment override, tiers) come from ``CardSpec``, which is built
from the scorecard rows, so the engine follows the data.
"""

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

RED, YELLOW, GREEN = "red", "yellow", "green"
RANK = {RED: 0, YELLOW: 1, GREEN: 2}
TIERS = {"free": 0, "premium": 1, "ultimate": 2}
BILLABLE = "billable_users"

# Freshness (DESIGN.md): only sentiment is scored in the first days of a customer;
# product data expires, sentiment goes stale then expires, support data expires.
ONBOARDING_DAYS = 30
PRODUCT_DATA_DAYS = 60
SENTIMENT_STALE_DAYS = 90
SENTIMENT_EXPIRED_DAYS = 120
PERSONA_WINDOW_DAYS = 90

PRODUCT_KINDS = {"ratio", "nonzero_count", "license_utilization"}


@dataclass(frozen=True)
class BandSpec:
    green_from: float
    green_inclusive: bool = True
    yellow_from: float | None = None
    yellow_inclusive: bool = True
    min_tenure_months: int | None = None
    max_tenure_months: int | None = None
    priorities: tuple[int, ...] = ()

    def applies(self, tenure_months: int | None, priority: int) -> bool:
        if self.priorities and priority not in self.priorities:
            return False
        if self.min_tenure_months is None and self.max_tenure_months is None:
            return True
        if tenure_months is None:
            return False
        low = self.min_tenure_months or 0
        return low <= tenure_months and (
            self.max_tenure_months is None or tenure_months <= self.max_tenure_months
        )

    @property
    def specificity(self) -> int:
        return bool(self.priorities) + (
            self.min_tenure_months is not None or self.max_tenure_months is not None
        )


@dataclass(frozen=True)
class MeasureSpec:
    key: str
    name: str
    kind: str
    bands: tuple[BandSpec, ...] = ()
    group: str | None = None
    use_case: str | None = None
    weight: float = 1.0
    numerator: tuple[str, ...] = ()
    denominator: tuple[str, ...] = ()
    personas: tuple[str, ...] = ()
    unit: str = ""
    higher_is_better: bool = True
    required_tier: str = "free"


@dataclass(frozen=True)
class UseCaseSpec:
    key: str
    name: str
    group: str
    weight: float
    required_tier: str = "free"


@dataclass(frozen=True)
class CardSpec:
    version: int
    groups: dict[str, tuple[str, float]]  # key → (name, weight)
    use_cases: tuple[UseCaseSpec, ...]
    measures: tuple[MeasureSpec, ...]
    points: dict[str, float] = field(default_factory=lambda: {RED: 25.0, YELLOW: 63.0, GREEN: 88.0})
    use_case_yellow_above: float = 50
    use_case_green_above: float = 75
    overall_yellow_from: float = 50
    overall_green_from: float = 75
    platform_adoption_min: int = 3


@dataclass(frozen=True)
class Inputs:
    """Everything one account's score depends on, as of one day."""

    as_of: dt.date
    tier: str = "free"
    priority: int = 2
    customer_since: dt.date | None = None
    billable_users: float | None = None
    licensed_seats: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    failed_metrics: frozenset[str] = frozenset()
    last_ping_on: dt.date | None = None
    sentiment: str | None = None
    sentiment_on: dt.date | None = None
    tickets_30d: int | None = None
    last_meeting_on: dt.date | None = None
    personas_met: frozenset[str] = frozenset()  # in the last PERSONA_WINDOW_DAYS
    active_objectives: int = 0
    draft_objectives: int = 0
    has_strategy: bool = False

    @property
    def tenure_days(self) -> int | None:
        return None if self.customer_since is None else (self.as_of - self.customer_since).days

    @property
    def tenure_months(self) -> int | None:
        if self.customer_since is None:
            return None
        since, now = self.customer_since, self.as_of
        months = (now.year - since.year) * 12 + now.month - since.month
        return months - (now.day < since.day)


@dataclass
class Line:
    """One ledger line: a measure, or a use case made of measures."""

    key: str
    name: str
    kind: str
    group: str | None
    use_case: str | None = None
    value: float | None = None
    colour: str | None = None
    points: float | None = None
    weight: float | None = None
    contribution: float | None = None
    freshness: str = "fresh"  # fresh | stale | missing | not_applicable
    note: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    band: dict[str, Any] | None = None
    next_band: str = ""
    unit: str = ""

    @property
    def has_data(self) -> bool:
        return self.colour is not None


@dataclass
class Result:
    overall_score: float | None
    overall_colour: str | None
    sentiment_override: bool
    lines: list[Line]
    adoption_count: int
    platform_adoption: bool

    def line(self, key: str) -> Line | None:
        return next((line for line in self.lines if line.key == key), None)

    @property
    def use_case_colours(self) -> dict[str, str | None]:
        return {line.key: line.colour for line in self.lines if line.kind == "use_case"}


def colour_of(value: float, band: BandSpec, higher_is_better: bool = True) -> str:
    """The colour of ``value`` under ``band``; exact boundaries follow the inclusive flags."""

    def reaches(threshold: float, inclusive: bool) -> bool:
        if higher_is_better:
            return value >= threshold if inclusive else value > threshold
        return value <= threshold if inclusive else value < threshold

    if reaches(band.green_from, band.green_inclusive):
        return GREEN
    if band.yellow_from is not None and reaches(band.yellow_from, band.yellow_inclusive):
        return YELLOW
    return RED


@dataclass(frozen=True)
class _Facts:
    """What every measure asks of one account's inputs, worked out once per score."""

    tier_rank: int
    tenure_months: int | None
    onboarding: bool  # only sentiment is scored in a customer's first days
    product_data_fresh: bool

    @classmethod
    def of(cls, inputs: Inputs) -> "_Facts":
        tenure_days = inputs.tenure_days
        return cls(
            tier_rank=TIERS.get(inputs.tier, 0),
            tenure_months=inputs.tenure_months,
            onboarding=tenure_days is not None and tenure_days < ONBOARDING_DAYS,
            product_data_fresh=inputs.last_ping_on is not None
            and (inputs.as_of - inputs.last_ping_on).days <= PRODUCT_DATA_DAYS,
        )


def band_for(measure: MeasureSpec, tenure_months: int | None, priority: int) -> BandSpec | None:
    matching = [b for b in measure.bands if b.applies(tenure_months, priority)]
    return max(matching, key=lambda b: b.specificity, default=None)


def score(card: CardSpec, inputs: Inputs) -> Result:
    facts = _Facts.of(inputs)
    lines = [_measure_line(card, measure, inputs, facts) for measure in card.measures]
    lines += [_use_case_line(card, uc, lines, facts) for uc in card.use_cases]
    _weigh(card, lines)
    scored = [line for line in lines if line.weight is not None and line.has_data]
    total = sum(line.weight or 0 for line in scored)
    overall = None
    for line in scored:
        line.contribution = (line.points or 0) * (line.weight or 0) / total
    if scored:
        overall = round(sum(line.contribution or 0 for line in scored), 1)
    colour = None if overall is None else _overall_colour(card, overall)
    sentiment = next((line for line in lines if line.kind == "sentiment"), None)
    override = bool(sentiment and sentiment.colour == RED and colour != RED)
    if override:
        colour = RED
    green_use_cases = sum(1 for line in lines if line.kind == "use_case" and line.colour == GREEN)
    return Result(
        overall_score=overall,
        overall_colour=colour,
        sentiment_override=override,
        lines=lines,
        adoption_count=green_use_cases,
        platform_adoption=green_use_cases >= card.platform_adoption_min,
    )


def _overall_colour(card: CardSpec, value: float) -> str:
    if value >= card.overall_green_from:
        return GREEN
    return YELLOW if value >= card.overall_yellow_from else RED


def _weigh(card: CardSpec, lines: list[Line]) -> None:
    """Effective weight = group weight × the item's share of its group's item weights."""
    # By group too: a measure may share its key with another group's use case.
    declared: dict[tuple[str | None, str], float] = {
        **{(m.group, m.key): m.weight for m in card.measures if not m.use_case},
        **{(u.group, u.key): u.weight for u in card.use_cases},
    }
    items = [
        (line.group, line)
        for line in lines
        if line.group is not None and line.group in card.groups and line.use_case is None
    ]
    totals: dict[str, float] = defaultdict(float)
    for group, line in items:
        totals[group] += declared.get((group, line.key), 0)
    for group, line in items:
        if line.freshness != "not_applicable" and totals[group]:
            line.weight = card.groups[group][1] * declared.get((group, line.key), 0) / totals[group]


def _measure_line(card: CardSpec, measure: MeasureSpec, inputs: Inputs, facts: _Facts) -> Line:
    line = Line(
        key=measure.key,
        name=measure.name,
        kind=measure.kind,
        group=measure.group,
        use_case=measure.use_case,
        unit=measure.unit,
    )
    if facts.tier_rank < TIERS.get(measure.required_tier, 0):
        line.freshness, line.note = "not_applicable", f"{measure.required_tier.title()} only"
        return line
    if measure.kind != "sentiment" and facts.onboarding:
        line.freshness, line.note = "missing", f"first {ONBOARDING_DAYS} days of the customer"
        return line
    value, inputs_used, note = _value(measure, inputs, facts)
    line.inputs, line.note = inputs_used, note
    if measure.kind in ("sentiment", "outcomes"):
        line.colour, line.freshness = _direct_colour(measure, inputs)
        line.value = None
    elif value is not None:
        band = band_for(measure, facts.tenure_months, inputs.priority)
        if band is None:
            months = facts.tenure_months
            line.freshness = "missing"
            line.note = note or (
                f"not scored at {months} months of tenure"
                if months is not None
                else "no band applies"
            )
            return line
        line.value = value
        line.colour = colour_of(value, band, measure.higher_is_better)
        line.band = _band_dict(band)
        line.next_band = _next_band(measure, band, value, line.colour, inputs)
    if line.colour is None:
        line.freshness = "missing"
    else:
        line.points = card.points[line.colour]
    return line


def _value(
    measure: MeasureSpec, inputs: Inputs, facts: _Facts
) -> tuple[float | None, dict[str, Any], str]:
    """A measure's numeric value and the inputs it used; None when there is no data."""
    kind = measure.kind
    if kind in PRODUCT_KINDS and not facts.product_data_fresh:
        return None, {}, f"no ping in the last {PRODUCT_DATA_DAYS} days"
    if kind == "license_utilization":
        used = {"billable_users": inputs.billable_users, "licensed_seats": inputs.licensed_seats}
        if not inputs.billable_users or not inputs.licensed_seats:
            return None, used, "billable users or licensed seats unknown"
        return inputs.billable_users / inputs.licensed_seats, used, ""
    if kind in ("ratio", "nonzero_count"):
        return _metric_value(measure, inputs)
    if kind == "support_tickets":
        return (
            (None, {}, "no support data in 30 days")
            if inputs.tickets_30d is None
            else (float(inputs.tickets_30d), {"tickets_30d": inputs.tickets_30d}, "")
        )
    if kind == "meeting_cadence":
        if inputs.last_meeting_on is None:
            return None, {}, "no meeting recorded"
        days = (inputs.as_of - inputs.last_meeting_on).days
        return float(days), {"last_meeting_on": inputs.last_meeting_on.isoformat()}, ""
    if kind == "persona_coverage":
        met = sorted(set(measure.personas) & inputs.personas_met)
        return float(len(met)), {"met": met, "wanted": list(measure.personas)}, ""
    return None, {}, ""


def _metric_value(measure: MeasureSpec, inputs: Inputs) -> tuple[float | None, dict[str, Any], str]:
    def known(path: str) -> float | None:
        if path == BILLABLE:
            return inputs.billable_users
        return inputs.metrics.get(path)

    numerator = {path: known(path) for path in measure.numerator}
    if all(v is None for v in numerator.values()):
        failed = [p for p in measure.numerator if p in inputs.failed_metrics]
        return None, {}, "metric failed to compute (-1)" if failed else "metric not reported"
    used: dict[str, Any] = {"numerator": numerator}
    if measure.kind == "nonzero_count":
        return float(sum(1 for v in numerator.values() if v)), used, ""
    denominator = {path: known(path) for path in measure.denominator}
    used["denominator"] = denominator
    below = sum(v for v in denominator.values() if v)
    if not below:
        return None, used, "denominator is zero or unknown"
    return sum(v for v in numerator.values() if v) / below, used, ""


def _direct_colour(measure: MeasureSpec, inputs: Inputs) -> tuple[str | None, str]:
    """Sentiment and outcomes are judged directly, not through bands."""
    if measure.kind == "sentiment":
        if inputs.sentiment is None or inputs.sentiment_on is None:
            return None, "missing"
        age = (inputs.as_of - inputs.sentiment_on).days
        if age > SENTIMENT_EXPIRED_DAYS:
            return None, "missing"
        return inputs.sentiment, "stale" if age > SENTIMENT_STALE_DAYS else "fresh"
    if inputs.active_objectives and inputs.has_strategy:
        return GREEN, "fresh"
    if inputs.active_objectives or inputs.draft_objectives:
        return YELLOW, "fresh"
    return RED, "fresh"


def _use_case_line(card: CardSpec, use_case: UseCaseSpec, lines: list[Line], facts: _Facts) -> Line:
    line = Line(key=use_case.key, name=use_case.name, kind="use_case", group=use_case.group)
    if facts.tier_rank < TIERS.get(use_case.required_tier, 0):
        line.freshness, line.note = "not_applicable", f"{use_case.required_tier.title()} only"
        return line
    members = [m for m in lines if m.use_case == use_case.key and m.has_data]
    if not members:
        line.freshness = "missing"
        return line
    mean = sum(m.points or 0 for m in members) / len(members)
    line.value = line.points = round(mean, 1)
    line.inputs = {"measures": {m.key: m.colour for m in members}}
    if mean > card.use_case_green_above:
        line.colour = GREEN
    elif mean > card.use_case_yellow_above:
        line.colour = YELLOW
    else:
        line.colour = RED
    return line


def _band_dict(band: BandSpec) -> dict[str, Any]:
    return {
        "yellow_from": band.yellow_from,
        "yellow_inclusive": band.yellow_inclusive,
        "green_from": band.green_from,
        "green_inclusive": band.green_inclusive,
    }


def _next_band(
    measure: MeasureSpec, band: BandSpec, value: float, colour: str, inputs: Inputs
) -> str:
    """What would move the measure up one colour, in the unit a CSM acts on."""
    if colour == GREEN:
        return ""
    target_colour = YELLOW if colour == RED and band.yellow_from is not None else GREEN
    threshold, inclusive = (
        (band.yellow_from, band.yellow_inclusive)
        if target_colour == YELLOW and band.yellow_from is not None
        else (band.green_from, band.green_inclusive)
    )
    if measure.kind == "meeting_cadence":
        return f"meet within {int(threshold)} days → {target_colour}"
    if measure.kind == "support_tickets":
        return f"at most {int(threshold if inclusive else threshold - 1)} tickets → {target_colour}"
    if measure.kind in ("nonzero_count", "persona_coverage"):
        needed = math.ceil(threshold if inclusive else threshold + 1) - int(value)
        what = "scanner types" if measure.kind == "nonzero_count" else "key personas met"
        return f"{needed} more {what} → {target_colour}"
    if measure.kind == "license_utilization" and inputs.licensed_seats:
        needed = _count_to_reach(threshold, inclusive, inputs.licensed_seats)
        delta = max(1, needed - round(value * inputs.licensed_seats))
        return f"{delta} more billable users → {target_colour}"
    numerator = sum(inputs.metrics.get(p) or 0 for p in measure.numerator)
    denominator = _denominator_value(measure, inputs)
    if measure.kind != "ratio" or denominator is None:
        return f"reach {_shown(threshold, measure.unit)} → {target_colour}"
    if set(measure.numerator) <= set(measure.denominator) and threshold < 1:
        # success-rate style: adding to the numerator grows the denominator too
        others = denominator - numerator
        needed = _count_to_reach(threshold / (1 - threshold), inclusive, others)
    else:
        needed = _count_to_reach(threshold, inclusive, denominator)
    delta = max(1, needed - round(numerator))
    return f"{measure.name}: {delta} more → {target_colour}"


def _count_to_reach(ratio: float, inclusive: bool, denominator: float) -> int:
    """The smallest whole numerator whose ratio to ``denominator`` reaches ``ratio``."""
    exact = ratio * denominator
    return math.ceil(exact - 1e-9) if inclusive else math.floor(exact + 1e-9) + 1


def _denominator_value(measure: MeasureSpec, inputs: Inputs) -> float | None:
    if measure.kind == "license_utilization":
        return inputs.licensed_seats
    if measure.kind != "ratio":
        return None
    values = [
        inputs.billable_users if p == BILLABLE else inputs.metrics.get(p)
        for p in measure.denominator
    ]
    total = sum(v for v in values if v)
    return total or None


def _shown(value: float, unit: str) -> str:
    return f"{value * 100:g}%" if unit == "%" else f"{value:g}"
