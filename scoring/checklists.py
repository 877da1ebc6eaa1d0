"""Metric-driven checklist items, use-case statuses and objective progress from a score."""

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.models import (
    Account,
    AccountUseCase,
    ChecklistItem,
    ChecklistProgress,
    Comparison,
    Objective,
    UseCase,
)
from scoring import engine
from scoring.models import MetricDefinition
from scoring.tracking import metric_tracking_set
from usagehub.bulk import copy_rows, copy_rows_with_ids

COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    Comparison.GTE: operator.ge,
    Comparison.GT: operator.gt,
    Comparison.LTE: operator.le,
    Comparison.LT: operator.lt,
    Comparison.EQ: operator.eq,
}
LINK_COLUMNS = (  # a new use-case link's row
    "account",
    "use_case",
    "status",
    "computed_status",
    "override_status",
    "reason",
    "updated_at",
)
STATUS_OF_COLOUR = {
    engine.GREEN: AccountUseCase.Status.ADOPTED,
    engine.YELLOW: AccountUseCase.Status.IN_PROGRESS,
    engine.RED: AccountUseCase.Status.IN_PROGRESS,
}


def holds(value: float | None, comparison: str, target: float) -> bool:
    return value is not None and bool(COMPARE[comparison](value, target))


@dataclass
class ChecklistState:
    """A batch of accounts' use-case links and metric ticks, read with their inputs (on
    the read-ahead thread when there is one) so that applying a score only writes."""

    links: dict[tuple[int, int], AccountUseCase]  # (account, use case) → link
    ticks: dict[tuple[int, int], tuple[int, bool]]  # (link, item) → (progress row, done)


def checklist_state(account_ids: Sequence[int]) -> ChecklistState:
    links = {
        (a.account_id, a.use_case_id): a
        for a in AccountUseCase.objects.filter(account_id__in=account_ids).only(
            "account_id", "use_case_id", "status", "computed_status", "override_status"
        )
    }
    ticks = {  # by link ids, not a join on accounts: PostgreSQL would scan every tick
        (link, item): (pk, done)
        for pk, link, item, done in ChecklistProgress.objects.filter(
            account_use_case__in=[link.pk for link in links.values()],
            item__kind=ChecklistItem.Kind.METRIC,
        ).values_list("pk", "account_use_case_id", "item_id", "done")
    }
    return ChecklistState(links, ticks)


def checklists_apply(
    *,
    accounts: Sequence[Account],
    results: dict[int, engine.Result],
    inputs: dict[int, engine.Inputs],
    state: ChecklistState,
) -> None:
    """Tick or untick metric items, and let each use case's status follow its colour
    unless a CSM overrode it (the override and its reason stay visible)."""
    use_cases = list(UseCase.objects.filter(is_active=True))
    items = list(
        ChecklistItem.objects.filter(kind=ChecklistItem.Kind.METRIC, use_case__is_active=True)
    )
    _track([item.metric_key_path for item in items])
    moved: dict[str, list[int]] = defaultdict(list)  # computed status → links that moved
    missing: list[tuple[int, int, str]] = []  # (account, use case, computed status)
    for account in accounts:
        lines = {line.key: line for line in results[account.pk].lines if line.kind == "use_case"}
        for uc in use_cases:
            computed = _status_of(lines.get(uc.key))
            link = state.links.get((account.pk, uc.pk))
            if link is None:
                missing.append((account.pk, uc.pk, computed))
                continue
            if (link.computed_status, link.status) != (computed, link.override_status or computed):
                moved[computed].append(link.pk)
    now = timezone.now()
    link_ids = {key: link.pk for key, link in state.links.items()}
    link_ids.update(_links_create(missing, now))
    for computed, pks in moved.items():  # one UPDATE per computed status
        AccountUseCase.objects.filter(pk__in=pks).update(
            computed_status=computed,
            # the override as stored now: a CSM may have set one since the links were read
            status=Case(
                When(override_status="", then=Value(computed)), default=F("override_status")
            ),
            updated_at=now,
        )
    _ticks(accounts, items, inputs, link_ids, state.ticks, now)


def _links_create(
    missing: list[tuple[int, int, str]], now: dt.datetime
) -> dict[tuple[int, int], int]:
    """New links go in with their status, as plain rows: a book's first scoring makes one
    per account and use case, and model instances cost more than the rows."""
    ids = copy_rows_with_ids(
        AccountUseCase,
        LINK_COLUMNS,
        [(account, uc, status, status, "", "", now) for account, uc, status in missing],
    )
    return {(account, uc): pk for (account, uc, _), pk in zip(missing, ids, strict=True)}


def _status_of(line: engine.Line | None) -> str:
    if line is None:
        return AccountUseCase.Status.NOT_STARTED
    if line.freshness == "not_applicable":
        return AccountUseCase.Status.NOT_APPLICABLE
    return STATUS_OF_COLOUR.get(line.colour or "", AccountUseCase.Status.NOT_STARTED)


def _ticks(
    accounts: Sequence[Account],
    items: list[ChecklistItem],
    inputs: dict[int, engine.Inputs],
    link_ids: dict[tuple[int, int], int],
    progress: dict[tuple[int, int], tuple[int, bool]],
    now: dt.datetime,
) -> None:
    new: list[tuple[int, int, bool, Any]] = []
    flipped = defaultdict(list)
    for account in accounts:
        metrics = inputs[account.pk].metrics
        for item in items:
            link = link_ids.get((account.pk, item.use_case_id))
            if link is None or item.target_value is None:
                continue
            done = holds(metrics.get(item.metric_key_path), item.comparison, item.target_value)
            row = progress.get((link, item.pk))
            if row is None:
                if done:
                    new.append((link, item.pk, True, now))
            elif row[1] != done:
                flipped[done].append(row[0])
    copy_rows(ChecklistProgress, ["account_use_case", "item", "done", "changed_at"], new)
    for done, pks in flipped.items():  # two UPDATEs, not one CASE per row
        ChecklistProgress.objects.filter(pk__in=pks).update(
            done=done, changed_by=None, changed_at=now
        )


def objectives_progress(
    objectives: Sequence[Objective], metrics: dict[str, float]
) -> list[dict[str, Any]]:
    """Progress of objectives whose success criterion is a metric, from the latest values."""
    rows = []
    for objective in objectives:
        if not objective.metric_key_path or objective.target_value is None:
            continue
        value = metrics.get(objective.metric_key_path)
        target = objective.target_value
        if value is None:
            share = None
        elif objective.comparison in (Comparison.LT, Comparison.LTE):
            share = (
                1.0
                if holds(value, objective.comparison, target)
                else min(1.0, target / value if value else 0.0)
            )
        else:
            share = min(1.0, value / target) if target else 1.0
        rows.append(
            {
                "id": objective.pk,
                "key_path": objective.metric_key_path,
                "value": value,
                "target": target,
                "comparison": objective.comparison,
                "progress": share,
                "met": holds(value, objective.comparison, target),
            }
        )
    return rows


def _track(key_paths: list[str]) -> None:
    """Metrics that checklists or objectives rely on are extracted from every ping."""
    wanted = set(filter(None, key_paths))
    known = set(
        MetricDefinition.objects.filter(key_path__in=wanted, is_tracked=True).values_list(
            "key_path", flat=True
        )
    )
    missing = wanted - known
    defined = set(
        MetricDefinition.objects.filter(key_path__in=missing).values_list("key_path", flat=True)
    )
    if defined:
        metric_tracking_set(key_paths=defined, tracked=True)
