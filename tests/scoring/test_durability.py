"""Durability with real processes: gunicorn, a Celery worker and beat on a private Redis.

2xx means committed in PostgreSQL; a dead or hung broker slows nothing down and loses
no recompute; concurrent identical posts store one row.
"""

import http.client
import json
import signal
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils import timezone

from accounts.api_keys import api_key_create
from accounts.models import Account, Instance
from scoring.models import AccountUsage, RecomputeRequest, ScoreSnapshot, UsagePing
from tests.factories import AccountFactory, InstanceFactory, SubscriptionFactory
from tests.processes import (
    app_env,
    celery_beat,
    celery_worker,
    free_port,
    gunicorn,
    private_redis,
    running,
    wait_for,
)
from tests.scoring.payloads import encoded, payload

pytestmark = [pytest.mark.django_db(transaction=True)]


def _post(port: int, key: str, body: bytes) -> tuple[int, float, dict]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/api/v1/pings",
        body=body,
        headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    data = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, time.monotonic() - started, data


@pytest.fixture
def book(on_postgres):
    account = AccountFactory()
    SubscriptionFactory(account=account, licensed_seats=100)
    InstanceFactory(account=account, uuid="inst-0001")
    _, key = api_key_create(name="collector", scopes=["ingest"])
    return account, key


def _billable(account) -> int | None:
    usage = AccountUsage.objects.filter(account=account).first()
    return usage.billable_users if usage else None


def test_a_dead_then_hung_broker_keeps_ingestion_fast_and_loses_no_recompute(book, tmp_path):
    account, key = book
    port = free_port()
    with private_redis() as redis:
        env = app_env(redis.url, RECOMPUTE_SWEEP_SECONDS="1")
        with (
            running(gunicorn(port), env, port=port),
            running(celery_worker(), env),
            running(celery_beat(tmp_path), env),
        ):
            status, _, _ = _post(port, key, encoded(payload(license_billable_users=10)))
            assert status == 202
            wait_for(lambda: _billable(account) == 10, 60, "the worker's first recompute")
            snapshot = ScoreSnapshot.objects.get(account=account)
            assert snapshot.scorecard.version == 1
            assert {line["key"] for line in snapshot.ledger} >= {"license_utilization", "ci"}

            redis.stop()
            for day, billable in ((13, 20), (14, 30)):
                body = encoded(
                    payload(
                        recorded_at=f"2026-11-{day + 8}T00:00:00Z", license_billable_users=billable
                    )
                )
                status, seconds, _ = _post(port, key, body)
                assert status == 202
                assert seconds < 2.5
            assert RecomputeRequest.objects.filter(account=account).exists()

            redis.start()
            redis.pause()  # back, but hung: still fast, still nothing lost
            status, seconds, _ = _post(
                port,
                key,
                encoded(payload(recorded_at="2026-11-23T00:00:00Z", license_billable_users=40)),
            )
            assert status == 202
            assert seconds < 2.5
            redis.resume()
            wait_for(lambda: _billable(account) == 40, 60, "the sweep to recover the recompute")
            wait_for(lambda: not RecomputeRequest.objects.exists(), 30, "the marks to clear")
    assert UsagePing.objects.count() == 4
    assert ScoreSnapshot.objects.filter(account=account).count() == 1  # one per day and version
    assert ScoreSnapshot.objects.get(account=account).billable_users == 40


def test_fifty_concurrent_identical_posts_store_one_row(book):
    _, key = book
    port = free_port()
    body = encoded(payload())
    with (
        private_redis() as redis,
        running(gunicorn(port, workers=4), app_env(redis.url), port=port),
        ThreadPoolExecutor(max_workers=50) as pool,
    ):
        results = list(pool.map(lambda _: _post(port, key, body), range(50)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses.count(202) == 1
    assert statuses.count(200) == 49
    assert len({data["id"] for _, _, data in results}) == 1
    assert UsagePing.objects.count() == 1


def test_an_unreachable_database_answers_503_with_retry_after(book):
    _, key = book
    port = free_port()
    dead_db = f"postgres://postgres@127.0.0.1:{free_port()}/usagehub"
    env = {**app_env("redis://127.0.0.1:1/0"), "DATABASE_URL": dead_db}
    with running(gunicorn(port, workers=1), env, port=port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(
            "POST",
            "/api/v1/pings",
            body=encoded(payload()),
            headers={"Authorization": f"Api-Key {key}"},
        )
        response = conn.getresponse()
        body = json.loads(response.read())
    assert response.status == 503
    assert response.getheader("Retry-After") == "30"
    assert body["errors"][0]["code"] == "unavailable"


def _accounts_with_a_ping(n: int, *, billable: Callable[[int], int]) -> list[Account]:
    """``n`` accounts, each with one production instance and one ping of its own
    ``billable(i)`` users (2,000 seats), written in bulk."""
    created = Account.objects.bulk_create(
        Account(name=f"Book {i}", crm_id=f"BOOK{i:05d}") for i in range(n)
    )
    instances = Instance.objects.bulk_create(
        Instance(account=account, uuid=f"book-{i}", instance_type="production")
        for i, account in enumerate(created)
    )
    UsagePing.objects.bulk_create(
        UsagePing(
            instance=instance,
            instance_uuid=instance.uuid,
            recorded_at=timezone.now(),
            billable_users=billable(i),
            licensed_seats=2000,
            content_hash=str(i),
            payload={},
        )
        for i, instance in enumerate(instances)
    )
    return created


def test_a_worker_killed_mid_recompute_still_ends_with_one_correct_snapshot(on_postgres, tmp_path):
    """Five batch messages of 200 accounts; the worker dies after the first commits."""
    from scoring.recompute import recompute_mark_all

    accounts = [account.pk for account in _accounts_with_a_ping(1000, billable=lambda i: 10 + i)]
    recompute_mark_all(account_ids=accounts)
    RecomputeRequest.objects.update(enqueued_at=None)  # as if their messages were lost
    with private_redis() as redis:
        env = app_env(redis.url, RECOMPUTE_SWEEP_SECONDS="1", RECOMPUTE_REQUEUE_SECONDS="3")
        with running(celery_beat(tmp_path), env):
            with running(celery_worker(), env) as worker:
                wait_for(lambda: ScoreSnapshot.objects.exists(), 60, "the first snapshots")
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)
            done_when_killed = ScoreSnapshot.objects.count()
            with running(celery_worker(), env):
                wait_for(
                    lambda: not RecomputeRequest.objects.exists(),
                    90,
                    "every marked account to be recomputed after the kill",
                )
    assert done_when_killed < len(accounts)
    assert Counter(ScoreSnapshot.objects.values_list("account_id", flat=True)) == dict.fromkeys(
        accounts, 1
    )
    billable = dict(ScoreSnapshot.objects.values_list("account_id", "billable_users"))
    assert [billable[pk] for pk in accounts] == [10 + i for i in range(len(accounts))]


def test_recompute_all_spreads_over_a_prefork_pool_and_scores_every_account_once(on_postgres):
    """The nightly run as deployed: its messages scored side by side by two processes."""
    from scoring.recompute import RECOMPUTE_ALL_BATCH
    from scoring.tasks import accounts_recompute_all
    from usagehub.celery import app

    app.conf.task_always_eager = False  # to the worker, as beat sends it (the fixture restores)
    n = 2 * RECOMPUTE_ALL_BATCH + 100  # three messages
    created = _accounts_with_a_ping(n, billable=lambda i: i % 500)
    with private_redis() as redis, running(celery_worker(processes=2), app_env(redis.url)):
        with app.connection_for_write(redis.url) as broker:
            accounts_recompute_all.apply_async(connection=broker)
        wait_for(lambda: ScoreSnapshot.objects.count() == n, 120, "every account scored")
        wait_for(lambda: not RecomputeRequest.objects.exists(), 30, "the marks to clear")
    billable = dict(ScoreSnapshot.objects.values_list("account_id", "billable_users"))
    assert [billable[account.pk] for account in created] == [i % 500 for i in range(n)]
    usage = dict(AccountUsage.objects.values_list("account_id", "billable_users"))
    assert usage == billable
    # Each batch of a message stamps its own time: the second message started before the
    # first one's last batch, so the two ran side by side, not one after the other.
    stamped = dict(ScoreSnapshot.objects.values_list("account_id", "computed_at"))
    first, second = (
        [stamped[account.pk] for account in created[start : start + RECOMPUTE_ALL_BATCH]]
        for start in (0, RECOMPUTE_ALL_BATCH)
    )
    assert min(second) < max(first)
