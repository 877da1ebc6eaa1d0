"""Recompute benchmark (issue 4): score every account of a large book, against a baseline
that only reads every account's scoring inputs. ``make bench`` runs it.

The book is written with COPY straight into the tables (pings carry their extracted
metrics; raw payloads are not needed to score): BENCH_ACCOUNTS accounts × 2 production
instances × 26 weekly pings. The headline recompute is the product's own: the
recompute-all task's messages, scored by a real Celery worker started with
``deploy/Procfile``'s command on a private Redis. The same messages scored one after
another in this process show what one process does alone, and the same read spread over a
pool of the worker's size gives a baseline that also uses every core.
"""

import datetime as dt
import json
import multiprocessing
import os
import random
import re
import shlex
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import django
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BENCH_URL, ROOT, fresh_database, production_env

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10000"))
WEEKS = 26
S = "usage_activity_by_stage_monthly"


def build_book() -> None:
    from django.db import connection

    from scoring.models import MetricDefinition

    keys = list(MetricDefinition.objects.filter(is_tracked=True).values_list("key_path", flat=True))
    rng = random.Random(4)
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY accounts_account (id, name, crm_id, priority, lifecycle_stage, "
            "customer_since, strategy, created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(1, ACCOUNTS + 1):
                copy.write_row(
                    (
                        i,
                        f"Bench {i}",
                        f"B{i:08d}",
                        1 + i % 3,
                        "adoption",
                        today - dt.timedelta(days=100 + i % 900),
                        "Grow" if i % 4 else "",
                        now,
                        now,
                    )
                )
        with raw.copy(
            "COPY accounts_subscription (id, account_id, external_id, plan, "
            "licensed_seats, arr, start_date, renewal_date, license_id, updated_at) "
            "FROM STDIN"
        ) as copy:
            for i in range(1, ACCOUNTS + 1):
                copy.write_row(
                    (
                        i,
                        i,
                        f"S{i:08d}",
                        ["premium", "ultimate"][i % 2],
                        500,
                        100000,
                        today - dt.timedelta(days=400),
                        today + dt.timedelta(days=200),
                        "",
                        now,
                    )
                )
        with raw.copy(
            "COPY accounts_instance (id, account_id, subscription_id, uuid, hostname, "
            "instance_type, included_in_health, created_at) FROM STDIN"
        ) as copy:
            for i in range(1, 2 * ACCOUNTS + 1):
                account = (i + 1) // 2
                copy.write_row((i, account, None, f"u-{i}", "", "production", True, now))
        with raw.copy(
            "COPY scoring_usageping (instance_id, instance_uuid, recorded_at, "
            "received_at, source, version, edition, license_plan, license_id, "
            "licensed_seats, billable_users, content_hash, metrics, failed_metrics) "
            "FROM STDIN"
        ) as copy:
            for i in range(1, 2 * ACCOUNTS + 1):
                base = rng.randint(20, 240)
                for week in range(WEEKS):
                    at = now - dt.timedelta(weeks=WEEKS - 1 - week, days=1)
                    billable = base + week * rng.randint(0, 3)
                    metrics = {k: rng.randint(0, billable) for k in keys}
                    copy.write_row(
                        (
                            i,
                            f"u-{i}",
                            at,
                            now,
                            "cli",
                            "17.5",
                            "EE",
                            "premium",
                            "",
                            250,
                            billable,
                            f"{i}-{week}",
                            json.dumps(metrics),
                            "[]",
                        )
                    )
        for table in ("accounts_account", "accounts_subscription", "accounts_instance"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    settled(vacuum=True)


def settled(*, vacuum: bool = False) -> None:
    """Start a timed phase from a clean state: no checkpoint owed by the previous phase
    and, after the book is written, hint bits and the visibility map already set (the
    first reader of a fresh COPY would otherwise pay for them)."""
    with psycopg.connect(BENCH_URL, autocommit=True) as conn:
        if vacuum:
            conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def scores_forgotten() -> None:
    """Back to a book never scored: no snapshot, rollup, alert, usage row, use-case link
    or checklist tick (``TRUNCATE``: fresh tables, as before the first scoring)."""
    from django.db import connection

    from accounts.models import AccountUseCase, ChecklistProgress
    from scoring.models import AccountUsage, Alert, ScoreSnapshot, WeeklyHealth

    derived = [ScoreSnapshot, WeeklyHealth, Alert, AccountUsage]
    tables = [m._meta.db_table for m in [*derived, AccountUseCase, ChecklistProgress]]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")


def baseline_read(ids: list[int]) -> float:
    """Only read what scoring reads: the same loader, no scoring, no writes."""
    from django.utils import timezone

    from scoring.health import BATCH_SIZE, _collector_paused, _load

    started = time.perf_counter()
    for start in range(0, len(ids), BATCH_SIZE):
        with _collector_paused():  # as the recompute reads: the same conditions
            _load(ids[start : start + BATCH_SIZE], timezone.localdate())
    return time.perf_counter() - started


def _messages(ids: list[int]) -> list[list[int]]:
    """The accounts of each recompute-all message, as the task splits them."""
    from scoring.recompute import RECOMPUTE_ALL_BATCH

    return [
        ids[start : start + RECOMPUTE_ALL_BATCH]
        for start in range(0, len(ids), RECOMPUTE_ALL_BATCH)
    ]


def _read_message(ids: list[int]) -> None:
    from django.db import connection

    baseline_read(ids)
    connection.close()


def baseline_read_pooled(ids: list[int], processes: int) -> float:
    """The same read, in the recompute-all messages, spread over a pool of forked
    processes the size of the worker's: a baseline that also uses every core."""
    from django.db import connections

    connections.close_all()  # a forked child must open its own
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(time.sleep, [0] * processes))  # every process started before the clock
        started = time.perf_counter()
        list(pool.map(_read_message, _messages(ids)))
        return time.perf_counter() - started


def recompute_book(ids: list[int]) -> int:
    """What the nightly run's messages do, one after another in this process: mark every
    account, then score them in messages of RECOMPUTE_ALL_BATCH accounts."""
    from scoring.health import accounts_recompute
    from scoring.recompute import recompute_mark_all

    recompute_mark_all(account_ids=ids)
    return sum(accounts_recompute(account_ids=message) for message in _messages(ids))


def procfile_worker() -> tuple[list[str], int]:
    """deploy/Procfile's worker command and its pool size (its default, or
    WORKER_CONCURRENCY as in production), run by this interpreter with quieter logs."""
    lines = (ROOT / "deploy" / "Procfile").read_text().splitlines()
    found = [line.removeprefix("worker:") for line in lines if line.startswith("worker:")]
    command = shlex.split(found[0]) if len(found) == 1 else []
    if command[:4] != ["celery", "-A", "usagehub", "worker"]:
        raise RuntimeError(
            f"deploy/Procfile: expected one 'worker: celery -A usagehub worker' line, got {found}"
        )
    processes = 0
    for i, token in enumerate(command):
        if default := re.fullmatch(r"--concurrency=\$\{WORKER_CONCURRENCY:-(\d+)\}", token):
            processes = int(os.environ.get("WORKER_CONCURRENCY", default.group(1)))
            command[i] = f"--concurrency={processes}"
        elif token.startswith("--loglevel="):
            command[i] = "--loglevel=WARNING"
    if not processes:
        raise RuntimeError("deploy/Procfile: the worker line no longer sets --concurrency")
    return [sys.executable, "-m", "celery", "--quiet", *command[1:]], processes


def recompute_on_worker(ids: list[int], broker: str, command: list[str]) -> float:
    """Seconds from the recompute-all task (as beat or a scorecard publish calls it) to
    the last account's mark cleared by a running worker (marks are cleared in the
    transaction that writes the scores)."""
    from scoring.models import RecomputeRequest, ScoreSnapshot
    from scoring.tasks import accounts_recompute_all
    from tests.processes import running
    from usagehub.celery import app

    def alive(deadline: float) -> None:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode} (see its log above)")
        if time.perf_counter() > deadline:
            raise RuntimeError("the worker did not finish in time (see its log above)")

    with running(command, production_env(CELERY_BROKER_URL=broker)) as worker:
        deadline = time.perf_counter() + 60
        while not app.control.ping(timeout=0.5):  # the worker is consuming
            alive(deadline)
        started = time.perf_counter()
        accounts_recompute_all()
        while RecomputeRequest.objects.exists():
            alive(started + 600)
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    assert ScoreSnapshot.objects.count() == len(ids)
    return elapsed


@contextmanager
def counted_queries() -> Iterator[list[None]]:
    """Every query the recompute sends, on every connection: the read-ahead thread
    opens its own."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    calls: list[None] = []

    def counting(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        calls.append(None)  # atomic under the GIL, from any thread
        return execute(sql, params, many, context)

    def wrap(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(counting)

    connection_created.connect(wrap)
    try:
        with connection.execute_wrapper(counting):
            yield calls
    finally:
        connection_created.disconnect(wrap)


def main() -> None:
    from tests.processes import private_redis

    with private_redis() as redis:
        run(redis.url)


def run(broker: str) -> None:
    fresh_database()
    # Production settings (DEBUG off) here as in the worker: the same conditions for both.
    os.environ.update(
        production_env(
            DJANGO_SETTINGS_MODULE="usagehub.settings",
            CELERY_BROKER_URL=broker,
            CELERY_TASK_ALWAYS_EAGER="false",
        )
    )
    django.setup()

    from accounts.models import Account

    started = time.perf_counter()
    build_book()
    built = time.perf_counter() - started
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    read = baseline_read(ids)
    settled()
    with counted_queries() as queries:
        started = time.perf_counter()
        changed = recompute_book(ids)
        fulls = [time.perf_counter() - started]
    settled()
    started = time.perf_counter()
    unchanged = recompute_book(ids)
    again = time.perf_counter() - started
    from scoring.models import ScoreSnapshot

    ScoreSnapshot.objects.all().delete()  # every score to write again, on an established book
    settled()
    started = time.perf_counter()
    recompute_book(ids)
    steady = time.perf_counter() - started
    scores_forgotten()  # a first scoring again, like the baseline: the faster of two counts
    settled(vacuum=True)
    started = time.perf_counter()
    recompute_book(ids)
    fulls.append(time.perf_counter() - started)
    full = min(fulls)
    command, processes = procfile_worker()
    on_worker = []
    for _ in range(2):
        scores_forgotten()
        settled(vacuum=True)
        on_worker.append(recompute_on_worker(ids, broker, command))
    worker = min(on_worker)
    settled()
    reads = (read, baseline_read(ids))  # again at the end: the machine drifts within a run
    read = min(reads)  # the faster counts
    pooled = min(baseline_read_pooled(ids, processes) for _ in range(2))
    n = len(ids)
    print(
        f"recompute benchmark: {n} accounts x 2 instances x {WEEKS} weekly pings "
        f"({n * 2 * WEEKS} pings, book written in {built:.0f} s), PostgreSQL; the baseline "
        f"read ran first and last ({reads[0]:.1f} s, {reads[1]:.1f} s), each first scoring "
        f"twice (a worker of {processes} processes {on_worker[0]:.1f} s, {on_worker[1]:.1f} s; "
        f"one process {fulls[0]:.1f} s, {fulls[1]:.1f} s), the faster of each counts"
    )
    rows = [
        ("(a) read every scoring input (baseline)", read),
        (f"(a2) the same read by {processes} processes", pooled),
        ("(b) recompute every account (worker)", worker),
        ("(b1) the same in one process", full),
        ("(c) one process, inputs unchanged", again),
        ("(d) one process, rewrite established book", steady),
    ]
    print(f"{'run':<42}{'seconds':>9}{'accounts/s':>12}{'ratio':>8}")
    for name, seconds in rows:
        print(f"{name:<42}{seconds:>9.1f}{n / seconds:>12.0f}{seconds / read:>8.2f}")
    print(f"(b) against (a2), a baseline that also uses every core: {worker / pooled:.2f}")
    print(
        f"queries: {len(queries)} for {n} accounts = {len(queries) / n:.3f} per account; "
        f"snapshots written: {changed}, then {unchanged}"
    )


if __name__ == "__main__":
    main()
