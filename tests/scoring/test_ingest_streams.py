"""A long ingestion on PostgreSQL stores two chunks at once, on two connections, and
still answers, and decides repeats, as if it stored them one by one."""

import datetime as dt
import threading
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from accounts.models import Account
from scoring.ingestion import CHUNK_SIZE, IngestResult, pings_ingest
from scoring.models import UsagePing
from tests.factories import AccountFactory, InstanceFactory, SubscriptionFactory
from tests.scoring.payloads import RECORDED_AT, encoded, payload

pytestmark = [pytest.mark.django_db(transaction=True)]


def _week(uuid: str, hours_back: int, **fields) -> bytes:
    moment = RECORDED_AT - dt.timedelta(hours=hours_back)
    return encoded(payload(uuid=uuid, recorded_at=moment.isoformat(), **fields))


@contextmanager
def _account_locked(account: Account):
    """Hold the account's row lock on a connection of our own: a chunk that writes a row
    referring to the account (a recompute mark, a new instance) waits until we let go."""
    with psycopg.connect(**connection.get_connection_params()) as blocker:
        blocker.execute(
            f'SELECT 1 FROM "{Account._meta.db_table}" WHERE id = %s FOR UPDATE',  # noqa: S608
            [account.pk],
        )
        yield
        blocker.rollback()


def _ingest_in_background(lines: list[bytes]) -> tuple[threading.Thread, list[IngestResult]]:
    results: list[IngestResult] = []

    def run() -> None:
        try:
            results.extend(pings_ingest(lines=enumerate(lines, 1), source="cli"))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


def _eventually(condition, what: str, timeout: float = 20.0) -> None:
    deadline = dt.datetime.now() + dt.timedelta(seconds=timeout)
    while not condition():
        assert dt.datetime.now() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.1)


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_the_next_chunk_is_stored_while_the_one_before_waits(on_postgres):
    held, free = AccountFactory(), AccountFactory()
    slow = InstanceFactory(account=held, uuid="held-1")
    fast = InstanceFactory(account=free, uuid="free-1")
    lines = [_week(slow.uuid, n) for n in range(CHUNK_SIZE)]
    lines += [_week(fast.uuid, n) for n in range(CHUNK_SIZE)]
    backends = _backends()

    with _account_locked(held):
        thread, results = _ingest_in_background(lines)
        _eventually(
            lambda: UsagePing.objects.filter(instance=fast).count() == CHUNK_SIZE,
            "the second chunk to commit while the first waits for its account",
        )
        assert not UsagePing.objects.filter(instance=slow).exists()
        assert not results  # answers keep their order: the first chunk's come first
    thread.join(timeout=60)

    assert [r.line for r in results] == list(range(1, 2 * CHUNK_SIZE + 1))
    assert {r.status for r in results} == {"accepted"}
    assert UsagePing.objects.count() == 2 * CHUNK_SIZE
    _eventually(lambda: _backends() == backends, "the streams' connections to close", 5)


def test_of_two_payloads_for_one_identity_in_consecutive_chunks_the_first_is_stored(
    on_postgres,
):
    """The later chunk waits for the earlier one when they share an identity, even while
    the earlier one is held up before it has written anything."""
    subscription = SubscriptionFactory(license_id="lic-new")
    known = InstanceFactory(uuid="known-1")
    first_chunk = [_week("brand-new", 0, license_id="lic-new")]  # its instance is created
    first_chunk += [_week(known.uuid, n) for n in range(1, CHUNK_SIZE)]
    repeat = _week(known.uuid, 1, active_user_count=1)  # line 2's identity, other content
    second_chunk = [repeat] + [_week(known.uuid, n) for n in range(CHUNK_SIZE, 2 * CHUNK_SIZE)]

    with _account_locked(subscription.account):
        thread, results = _ingest_in_background(first_chunk + second_chunk)
        threading.Event().wait(2)  # time enough for a chunk that does not wait to commit
        assert not UsagePing.objects.exists()
    thread.join(timeout=60)

    by_line = {r.line: r.status for r in results}
    assert by_line[2] == "accepted"
    assert by_line[CHUNK_SIZE + 1] == "conflict"
    stored = UsagePing.objects.get(instance=known, recorded_at=RECORDED_AT - dt.timedelta(hours=1))
    assert stored.active_users == 64


def test_inside_the_callers_transaction_everything_is_stored_in_it(on_postgres):
    from django.db import transaction

    instance = InstanceFactory(uuid="tx-1")
    lines = [_week(instance.uuid, n) for n in range(2 * CHUNK_SIZE)]
    with transaction.atomic():
        results = list(pings_ingest(lines=enumerate(lines, 1), source="cli"))
        transaction.set_rollback(True)
    assert len(results) == 2 * CHUNK_SIZE
    assert not UsagePing.objects.exists()  # nothing committed behind the caller's back
