"""Recompute accounts in batches: load inputs in a fixed number of queries, score with the
pure engine, write usage, snapshots (the ledger), checklists, statuses and alerts.

A batch of 1 (the Celery task after a ping) and a batch of 500 (publishing a scorecard,
the nightly run: messages of 1,000 accounts, two batches each) run the same code, so
queries per account stay constant.
"""

import datetime as dt
import gc
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson
from django.db import connection, connections, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import (
    Account,
    Activity,
    ChecklistItem,
    Instance,
    Objective,
    Subscription,
    UseCase,
)
from scoring import engine
from scoring.alerts import alerts_apply
from scoring.checklists import (
    ChecklistState,
    checklist_state,
    checklists_apply,
    objectives_progress,
)
from scoring.milestones import milestones_compute
from scoring.models import AccountUsage, RecomputeRequest, Scorecard, ScoreSnapshot, UsagePing
from scoring.payload import MAX_BIGINT
from scoring.recompute import recompute_enqueue
from scoring.scorecards import card_spec
from scoring.webhooks import webhooks_emit
from scoring.weekly import weekly_health_save
from usagehub.bulk import copy_insert, copy_upsert

BATCH_SIZE = 500


def accounts_recompute(
    *, account_ids: Sequence[int], as_of: dt.date | None = None, scorecard: Scorecard | None = None
) -> int:
    """Recompute ``account_ids`` (in batches); returns how many snapshots changed."""
    scorecard = scorecard or Scorecard.objects.get(status=Scorecard.Status.PUBLISHED)
    card = card_spec(scorecard)  # there is always one: seeded, and publishing replaces it
    ids = sorted(set(account_ids))
    batches = [ids[start : start + BATCH_SIZE] for start in range(0, len(ids), BATCH_SIZE)]
    day = as_of or timezone.localdate()  # one day for every batch, read on any thread
    rules = _rules_digest(card)
    changed = 0
    today = as_of is None  # a past day's run writes its snapshots only
    for read in _read_ahead(batches, lambda batch: _read(batch, day, today, scorecard, rules)):
        with _collector_paused():
            changed += _recompute_batch(read, scorecard, card)
    return changed


def _read_ahead(
    batches: list[list[int]], read: Callable[[list[int]], "_Read"]
) -> Iterator["_Read"]:
    """Each batch's inputs, the next one read on a helper thread (its own connection)
    while this one is scored and written: PostgreSQL answers the reads while Python
    scores, and Python loads while PostgreSQL writes, instead of taking turns.

    Batches hold distinct accounts, so a read never depends on the writes it overlaps.
    Inside a transaction (tests, a caller's atomic block) a second connection could not
    see the caller's uncommitted rows: there, and on SQLite, batches go one by one.
    """
    if len(batches) < 2 or connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from map(read, batches)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="recompute-read") as helper:
        try:
            upcoming = helper.submit(read, batches[0])
            for following in [*batches[1:], None]:
                current = upcoming.result()
                if following is not None:
                    upcoming = helper.submit(read, following)
                yield current
        finally:
            helper.submit(connections.close_all)  # the helper's connection, after its reads


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A batch builds ~100,000 short-lived objects; reference counting frees them, but the
    cyclic collector would walk the whole batch again and again (measured: ~10% of a
    full recompute). Pause it for one batch; it resumes, with its usual thresholds, after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def accounts_preview(*, scorecard: Scorecard, account_ids: Sequence[int]) -> list[dict[str, Any]]:
    """How ``scorecard`` would colour each account, against its latest stored snapshot."""
    card = card_spec(scorecard)
    as_of = timezone.localdate()
    rows = []
    for start in range(0, len(account_ids), BATCH_SIZE):
        batch = list(account_ids[start : start + BATCH_SIZE])
        loaded = _load(batch, as_of)
        for account in loaded.accounts:
            result = engine.score(card, loaded.inputs[account.pk])
            previous = loaded.previous.get(account.pk)
            before = previous.overall_colour if previous else None
            if (result.overall_colour or "") != (before or ""):
                rows.append(
                    {
                        "account": account,
                        "from": before,
                        "to": result.overall_colour,
                        "score": result.overall_score,
                    }
                )
    return rows


class _Loaded:
    """Everything a batch needs, fetched once."""

    def __init__(self) -> None:
        self.accounts: list[Account] = []
        self.inputs: dict[int, engine.Inputs] = {}
        self.usage: dict[int, dict[str, Any]] = {}
        self.history: dict[int, list[tuple[dt.date, float | None, float | None]]] = {}
        self.silent: dict[int, list[str]] = {}
        self.previous: dict[int, ScoreSnapshot] = {}
        self.month_ago: dict[int, ScoreSnapshot] = {}
        self.current: dict[int, ScoreSnapshot] = {}
        self.renewal: dict[int, dt.date | None] = {}
        self.tiers: dict[int, str] = {}
        self.arr: dict[int, Decimal] = {}
        self.objectives: dict[int, list[Objective]] = defaultdict(list)


@dataclass
class _Read:
    """One batch's reads: its recompute marks, read before the inputs they announce."""

    day: dt.date
    marks: dict[int, dt.datetime]
    loaded: _Loaded
    today: bool  # a past day's run (``as_of``) writes its snapshots only
    stale: dict[int, str]  # accounts to score → the digest of what their results depend on
    checklists: ChecklistState  # of the stale accounts, on today's runs


def _read(ids: list[int], day: dt.date, today: bool, scorecard: Scorecard, rules: str) -> _Read:
    marks = (  # a past day's run clears no marks, so it need not read them
        dict(
            RecomputeRequest.objects.filter(account_id__in=ids).values_list(
                "account_id", "requested_at"
            )
        )
        if today
        else {}
    )
    loaded = _load(ids, day)
    loaded.current = {  # only to compare hashes and to rewrite in place: no ledgers
        s.account_id: s
        for s in ScoreSnapshot.objects.filter(
            account_id__in=ids, scorecard=scorecard, as_of=day
        ).only("pk", "account_id", "scorecard_id", "as_of", "inputs_hash")
    }
    stale = {}  # an account scored today from these very inputs and rules cannot change
    for account in loaded.accounts:
        digest = _inputs_hash(rules, loaded.inputs[account.pk], loaded, account.pk)
        current = loaded.current.get(account.pk)
        if current is None or current.inputs_hash != digest:
            stale[account.pk] = digest
    return _Read(day, marks, loaded, today, stale, checklist_state(list(stale) if today else []))


def _recompute_batch(read: _Read, scorecard: Scorecard, card: engine.CardSpec) -> int:
    day, marks, loaded = read.day, read.marks, read.loaded
    now = timezone.now()
    changed: list[ScoreSnapshot] = []
    results: dict[int, engine.Result] = {}
    for account in loaded.accounts:
        digest = read.stale.get(account.pk)
        if digest is None:
            continue
        inputs = loaded.inputs[account.pk]
        result = engine.score(card, inputs)
        results[account.pk] = result
        changed.append(_snapshot(account, scorecard, day, now, inputs, result, loaded, digest))
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        _save_snapshots(changed)
        weekly_health_save(changed, tiers=loaded.tiers, arr=loaded.arr, renewals=loaded.renewal)
        if read.today:
            _save_usage(loaded, now)
            notified = _apply_current(loaded, read.checklists, results, changed, now)
            _clear_marks(marks)  # only the marks seen before scoring started
            if outermost and not notified and all(s.account_id in marks for s in changed):
                _commit_without_waiting_for_disk()
    return len(changed)


def _commit_without_waiting_for_disk() -> None:
    """Let this transaction's commit return before its WAL is on disk (PostgreSQL; the
    setting is read at COMMIT, and ``LOCAL`` ends with the transaction).

    Only for a batch whose every written account had a recompute mark and that told
    nobody outside the database (no alert opened, no webhook queued): a crash may lose
    the last few hundred milliseconds of such commits, each whole, never half of one,
    and the marks a lost commit would have cleared are still there for the sweep.
    Measured: waiting for the flush was ~15% of a book's first scoring."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")


def _apply_current(
    loaded: _Loaded,
    checklists: ChecklistState,
    results: dict[int, engine.Result],
    changed: list[ScoreSnapshot],
    now: dt.datetime,
) -> bool:
    """Today's consequences of new scores: checklist ticks, use-case statuses, alerts.
    Returns whether anybody outside the database is told (an alert, a webhook)."""
    scored = [account for account in loaded.accounts if account.pk in results]
    checklists_apply(accounts=scored, results=results, inputs=loaded.inputs, state=checklists)
    written = {s.account_id: s for s in changed}
    changes = _emit_changes(loaded, written)
    opened = alerts_apply(
        accounts=scored,
        results=results,
        inputs=loaded.inputs,
        snapshots=dict(written),
        previous=loaded.previous,
        month_ago=loaded.month_ago,
        silent=loaded.silent,
        now=now,
    )
    webhooks_emit(
        event="alert.opened",
        payloads=[
            {
                "account": a.account.crm_id,
                "kind": a.kind,
                "measure": a.measure,
                "severity": a.severity,
                "message": a.message,
                "opened_at": a.opened_at.isoformat(),
            }
            for a in opened
        ],
    )
    return bool(changes or opened)


def _emit_changes(loaded: _Loaded, written: dict[int, ScoreSnapshot]) -> int:
    """health.changed when the overall colour moved; adoption.changed when a use case did.
    Returns how many webhook deliveries were queued."""
    health, adoption = [], []
    for account in loaded.accounts:
        snapshot, before = written.get(account.pk), loaded.previous.get(account.pk)
        if snapshot is None or before is None:
            continue
        if snapshot.overall_colour != before.overall_colour:
            health.append(
                {
                    "account": account.crm_id,
                    "from": before.overall_colour or None,
                    "to": snapshot.overall_colour or None,
                    "score": snapshot.overall_score,
                    "as_of": snapshot.as_of.isoformat(),
                }
            )
        if snapshot.use_cases != before.use_cases:
            adoption.append(
                {
                    "account": account.crm_id,
                    "from": before.use_cases,
                    "to": snapshot.use_cases,
                    "adoption_count": snapshot.adoption_count,
                    "platform_adoption": snapshot.platform_adoption,
                }
            )
    return len(webhooks_emit(event="health.changed", payloads=health)) + len(
        webhooks_emit(event="adoption.changed", payloads=adoption)
    )


def _clear_marks(marks: dict[int, dt.datetime]) -> None:
    """Clear the recompute marks this batch saw. A newer mark (data that arrived while the
    batch ran) stays and is enqueued again once this transaction commits."""
    if not marks:
        return
    by_moment = defaultdict(list)  # a whole-book run marks every account at one moment
    for pk, at in marks.items():
        by_moment[at].append(pk)
    seen = Q()
    for at, pks in by_moment.items():  # equal, not older: hosts' clocks differ
        seen |= Q(account_id__in=pks, requested_at=at)
    RecomputeRequest.objects.filter(seen).delete()
    newer = RecomputeRequest.objects.filter(account_id__in=list(marks))
    if newer.update(enqueued_at=None):
        transaction.on_commit(lambda: recompute_enqueue(account_ids=list(marks)))


def _snapshot(
    account: Account,
    scorecard: Scorecard,
    day: dt.date,
    now: dt.datetime,
    inputs: engine.Inputs,
    result: engine.Result,
    loaded: _Loaded,
    digest: str,
) -> ScoreSnapshot:
    """Today's snapshot of ``result``: a new row, or today's row rewritten."""
    existing = loaded.current.get(account.pk)
    previous = loaded.previous.get(account.pk)
    ledger = [_line_dict(line) for line in result.lines]
    snapshot = existing or ScoreSnapshot(account=account, scorecard=scorecard, as_of=day)
    snapshot.computed_at = now
    snapshot.inputs_hash = digest
    snapshot.overall_score = result.overall_score
    snapshot.overall_colour = result.overall_colour or ""
    snapshot.sentiment_override = result.sentiment_override
    snapshot.adoption_count = result.adoption_count
    snapshot.platform_adoption = result.platform_adoption
    snapshot.billable_users = _int(inputs.billable_users)
    snapshot.licensed_seats = _int(inputs.licensed_seats)
    snapshot.utilization = (
        inputs.billable_users / inputs.licensed_seats
        if inputs.billable_users is not None and inputs.licensed_seats
        else None  # no users is 0%, not "no data"
    )
    snapshot.ledger = ledger
    snapshot.colours = {line.key: line.colour for line in result.lines}
    snapshot.use_cases = result.use_case_colours
    snapshot.milestones = milestones_compute(
        inputs=inputs,
        history=loaded.history.get(account.pk, []),
        renewal=loaded.renewal.get(account.pk),
        result=result,
        previous=previous.milestones if previous else {},
    )
    snapshot.objectives = objectives_progress(loaded.objectives.get(account.pk, []), inputs.metrics)
    snapshot.diff = _diff(previous.ledger if previous else [], ledger, previous, result)
    return snapshot


def counted_instances(instances: list[Any]) -> list[Any]:
    """Production instances included in health; of several on one subscription, the one
    reporting the most billable users (the others are usually mirrors or test copies)."""
    chosen: dict[Any, Any] = {}
    for instance in instances:
        if instance.instance_type != Instance.Type.PRODUCTION or not instance.included_in_health:
            continue
        key = instance.subscription_id or ("instance", instance.pk)
        best = chosen.get(key)
        if best is None or (instance.latest_billable or 0) > (best.latest_billable or 0):
            chosen[key] = instance
    return list(chosen.values())


def _capped(total: int) -> int:
    """Sums of instances' counts stay storable (each is validated below 2**63 alone)."""
    return min(total, MAX_BIGINT)


def _int(value: float | None) -> int | None:
    return None if value is None else round(value)


def _line_dict(line: engine.Line) -> dict[str, Any]:
    """The ledger line without its empty fields (vars, not asdict: no deep copy)."""
    # ``v or v in (0, False)`` keeps zeros and False and drops None, "", {} and [],
    # without comparing every value against four empties.
    return {k: v for k, v in vars(line).items() if v or v in (0, False)} | {
        "key": line.key,
        "colour": line.colour,
        "freshness": line.freshness,
    }


def _rules_digest(card: engine.CardSpec) -> str:
    """What besides an account's inputs decides its results: the scorecard as the engine
    sees it, the use cases and the metric checklist items (editing any of them must
    rescore and re-tick every account, even one already scored today)."""
    use_cases = UseCase.objects.values_list("pk", "key", "required_tier", "is_active")
    items = ChecklistItem.objects.filter(kind=ChecklistItem.Kind.METRIC).values_list(
        "pk", "use_case_id", "metric_key_path", "comparison", "target_value"
    )
    raw = orjson.dumps(
        [card, sorted(use_cases), sorted(items)], default=_jsonable, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(raw).hexdigest()


def _inputs_hash(rules: str, inputs: engine.Inputs, loaded: _Loaded, pk: int) -> str:
    """The digest of everything one account's results depend on: its inputs, the rules,
    and what the ledger reads beside them (silent instances, the renewal date)."""
    raw = orjson.dumps(
        {
            "rules": rules,
            "silent": loaded.silent.get(pk, []),
            "renewal": loaded.renewal.get(pk),
            **vars(inputs),
        },
        default=_jsonable,
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(raw).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(type(value))


def _diff(
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    previous: ScoreSnapshot | None,
    result: engine.Result,
) -> list[dict[str, Any]]:
    """What changed since the previous snapshot: colours and values, overall first."""
    changes: list[dict[str, Any]] = []
    if previous is not None and (
        previous.overall_colour != (result.overall_colour or "")
        or previous.overall_score != result.overall_score
    ):
        changes.append(
            {
                "key": "overall",
                "name": "Overall health",
                "from": previous.overall_colour or None,
                "to": result.overall_colour,
                "from_value": previous.overall_score,
                "to_value": result.overall_score,
            }
        )
    old = {line["key"]: line for line in before}
    for line in after:
        was = old.get(line["key"], {})
        if was.get("colour") != line.get("colour") or was.get("value") != line.get("value"):
            if previous is None:
                continue
            changes.append(
                {
                    "key": line["key"],
                    "name": line.get("name", line["key"]),
                    "from": was.get("colour"),
                    "to": line.get("colour"),
                    "from_value": was.get("value"),
                    "to_value": line.get("value"),
                }
            )
    return changes


def _save_snapshots(snapshots: list[ScoreSnapshot]) -> None:
    new = [s for s in snapshots if s.pk is None]
    old = [s for s in snapshots if s.pk is not None]
    copy_insert(new)
    fields = [
        f.name
        for f in ScoreSnapshot._meta.concrete_fields
        if f.name not in ("id", "account", "scorecard", "as_of")
    ]
    ScoreSnapshot.objects.bulk_update(old, fields)


def _save_usage(loaded: _Loaded, now: dt.datetime) -> None:
    copy_upsert(
        [
            AccountUsage(account_id=pk, computed_at=now, **values)
            for pk, values in loaded.usage.items()
        ],
        unique_fields=["account"],
        update_fields=[
            "last_ping_at",
            "instances_counted",
            "billable_users",
            "licensed_seats",
            "utilization",
            "metrics",
            "computed_at",
        ],
    )


def _load(ids: list[int], day: dt.date) -> _Loaded:
    loaded = _Loaded()
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    loaded.accounts = list(Account.objects.filter(pk__in=ids).order_by("pk"))
    seats = _subscriptions(ids, day, loaded)
    instances = _instances(ids, end)
    latest = _latest_pings(instances, end)
    history = _history(instances, end)
    activity = _activity(ids, day, end)
    objectives = _objective_counts(ids)
    for objective in Objective.objects.filter(account_id__in=ids).exclude(metric_key_path=""):
        loaded.objectives[objective.account_id].append(objective)
    loaded.previous = _snapshots_before(ids, day)
    loaded.month_ago = _snapshots_before(ids, day - dt.timedelta(days=28))
    for account in loaded.accounts:
        counted = counted_instances(instances.get(account.pk, []))
        pings = [latest[i.pk] for i in counted if i.pk in latest]
        metrics: dict[str, float] = defaultdict(float)
        failed: set[str] = set()
        for ping in pings:
            for key, value in ping.metrics.items():
                metrics[key] += value
            failed.update(ping.failed_metrics)
        billable = _capped(sum(p.billable_users or 0 for p in pings)) if pings else None
        licensed = _capped(sum(p.licensed_seats or 0 for p in pings)) or seats.get(account.pk)
        last_ping = max((p.recorded_at for p in pings), default=None)
        loaded.usage[account.pk] = {
            "last_ping_at": last_ping,
            "instances_counted": len(pings),
            "billable_users": billable,
            "licensed_seats": licensed,
            "utilization": billable / licensed if billable is not None and licensed else None,
            "metrics": dict(metrics),
        }
        loaded.history[account.pk] = _merged_history(
            [history[i.pk] for i in counted if i.pk in history]
        )
        loaded.silent[account.pk] = [
            i.identity
            for i in counted
            if i.pk in latest and (end - latest[i.pk].recorded_at).days > 14
        ]
        acts = activity.get(account.pk, {})
        counts = objectives.get(account.pk, {})
        loaded.inputs[account.pk] = engine.Inputs(
            as_of=day,
            tier=loaded.tiers.get(account.pk, "free"),
            priority=account.priority,
            customer_since=account.customer_since,
            billable_users=billable,
            licensed_seats=licensed,
            metrics=dict(metrics),
            failed_metrics=frozenset(failed),
            last_ping_on=last_ping.date() if last_ping else None,
            sentiment=acts.get("sentiment"),
            sentiment_on=acts.get("sentiment_on"),
            tickets_30d=acts.get("tickets"),
            last_meeting_on=acts.get("last_meeting"),
            personas_met=frozenset(acts.get("personas", ())),
            active_objectives=counts.get("active", 0),
            draft_objectives=counts.get("draft", 0),
            has_strategy=bool(account.strategy.strip()),
        )
    return loaded


TIER_ORDER = ["free", "premium", "ultimate"]


def _subscriptions(ids: list[int], day: dt.date, loaded: _Loaded) -> dict[int, int]:
    """Per account: the highest plan, the next renewal, the ARR of subscriptions running
    on ``day`` (into ``loaded``); returns the total CRM seats."""
    seats: dict[int, int] = defaultdict(int)
    rows = Subscription.objects.filter(account_id__in=ids).values_list(
        "account_id", "plan", "licensed_seats", "renewal_date", "start_date", "arr"
    )
    for pk, plan, licensed, renews, starts, arr in rows:
        if TIER_ORDER.index(plan) >= TIER_ORDER.index(loaded.tiers.get(pk, "free")):
            loaded.tiers[pk] = plan
        seats[pk] += licensed
        if starts <= day <= renews:  # started, not lapsed
            loaded.arr[pk] = loaded.arr.get(pk, Decimal(0)) + arr
        known = loaded.renewal.get(pk)
        if renews >= day and (known is None or renews < known):
            loaded.renewal[pk] = renews
    return dict(seats)


def _instances(ids: list[int], end: dt.datetime) -> dict[int, list[Instance]]:
    from django.db.models import OuterRef, Subquery

    latest = UsagePing.objects.filter(instance=OuterRef("pk"), recorded_at__lt=end).order_by(
        "-recorded_at"
    )
    by_account: dict[int, list[Instance]] = defaultdict(list)
    for instance in Instance.objects.filter(account_id__in=ids).annotate(
        latest_ping_id=Subquery(latest.values("pk")[:1]),
        latest_billable=Subquery(latest.values("billable_users")[:1]),
    ):
        by_account[instance.account_id].append(instance)
    return by_account


def _latest_pings(instances: dict[int, list[Instance]], end: dt.datetime) -> dict[int, UsagePing]:
    annotated: list[Any] = [i for group in instances.values() for i in group]
    ids = [i.latest_ping_id for i in annotated if i.latest_ping_id]
    pings = UsagePing.objects.filter(pk__in=ids).only(
        "instance_id",
        "recorded_at",
        "billable_users",
        "licensed_seats",
        "metrics",
        "failed_metrics",
    )
    return {p.instance_id: p for p in pings if p.instance_id is not None}


def _history(
    instances: dict[int, list[Instance]], end: dt.datetime
) -> dict[int, list[tuple[dt.date, float | None, float | None]]]:
    ids = [i.pk for group in instances.values() for i in group]
    series: dict[int, list[tuple[dt.date, float | None, float | None]]] = defaultdict(list)
    rows = (
        UsagePing.objects.filter(instance_id__in=ids, recorded_at__lt=end)
        .order_by("recorded_at")
        # a date column parses far faster than a timestamp with time zone, 52 per account
        .values_list("instance_id", TruncDate("recorded_at"), "billable_users", "licensed_seats")
    )
    for instance_id, day, billable, licensed in rows:
        series[instance_id].append((day, billable, licensed))
    return series


def _merged_history(
    series: list[list[tuple[dt.date, float | None, float | None]]],
) -> list[tuple[dt.date, float | None, float | None]]:
    """One account series from its instances': at each date, the sum of each instance's
    latest known values."""
    if len(series) == 1:
        return series[0]
    # One pass over every row in date order (a stable sort keeps each instance's own
    # order), remembering each instance's latest row.
    rows = sorted(
        ((row[0], index, row) for index, rows in enumerate(series) for row in rows),
        key=itemgetter(0),
    )
    latest: list[tuple[dt.date, float | None, float | None] | None] = [None] * len(series)
    merged: list[tuple[dt.date, float | None, float | None]] = []
    for day, group in groupby(rows, key=itemgetter(0)):
        for _, index, row in group:
            latest[index] = row
        known = [row for row in latest if row is not None]
        billable = 0.0 + sum(row[1] or 0 for row in known)
        licensed = 0.0 + sum(row[2] or 0 for row in known)
        merged.append((day, billable, licensed or None))
    return merged


def _activity(ids: list[int], day: dt.date, end: dt.datetime) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = defaultdict(dict)
    sentiments = (
        Activity.objects.filter(
            account_id__in=ids, kind=Activity.Kind.SENTIMENT, occurred_at__lt=end
        )
        .order_by("account_id", "-occurred_at")
        .values_list("account_id", "sentiment", "occurred_at")
    )
    for pk, colour, at in sentiments:
        if "sentiment" not in found[pk]:
            found[pk].update(sentiment=colour, sentiment_on=at.date())
    month = end - dt.timedelta(days=30)
    for pk, total in (
        Activity.objects.filter(
            account_id__in=ids,
            kind=Activity.Kind.SUPPORT_TICKETS,
            occurred_at__gte=month,
            occurred_at__lt=end,
        )
        .values("account_id")
        .annotate(total=Sum("ticket_count"))
        .values_list("account_id", "total")
    ):
        found[pk]["tickets"] = total
    for pk, last in (
        Activity.objects.filter(account_id__in=ids, kind=Activity.Kind.MEETING, occurred_at__lt=end)
        .values("account_id")
        .annotate(last=Max("occurred_at"))
        .values_list("account_id", "last")
    ):
        found[pk]["last_meeting"] = last.date()
    window = end - dt.timedelta(days=engine.PERSONA_WINDOW_DAYS)
    for pk, persona in Activity.personas.through.objects.filter(
        activity__account_id__in=ids,
        activity__kind=Activity.Kind.MEETING,
        activity__occurred_at__gte=window,
        activity__occurred_at__lt=end,
    ).values_list("activity__account_id", "persona__key"):
        found[pk].setdefault("personas", set()).add(persona)
    return found


def _objective_counts(ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for pk, status, n in (
        Objective.objects.filter(
            account_id__in=ids, status__in=[Objective.Status.ACTIVE, Objective.Status.DRAFT]
        )
        .values("account_id", "status")
        .annotate(n=Count("pk"))
        .values_list("account_id", "status", "n")
    ):
        counts[pk][status] = n
    return counts


def _snapshots_before(ids: list[int], day: dt.date) -> dict[int, ScoreSnapshot]:
    """Each account's latest snapshot from before ``day`` (any scorecard version)."""
    from django.db.models import OuterRef, Subquery

    latest = ScoreSnapshot.objects.filter(account=OuterRef("pk"), as_of__lt=day).order_by(
        "-as_of", "-computed_at"
    )
    wanted = (
        Account.objects.filter(pk__in=ids)
        .annotate(snap=Subquery(latest.values("pk")[:1]))
        .values_list("snap", flat=True)
    )
    return {s.account_id: s for s in ScoreSnapshot.objects.filter(pk__in=[w for w in wanted if w])}
