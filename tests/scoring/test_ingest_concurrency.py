"""Ingestion against concurrent writers on PostgreSQL: a long ingestion stores two chunks
at once, on two connections, yet answers and decides repeats as if it stored them one by
one; a race lost to another writer is retried, not reported as an error."""

import datetime as dt
import threading
import time
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection, transaction

from accounts.api_keys import api_key_create
from accounts.models import Account, Instance
from scoring.ingestion import CHUNK_SIZE, IngestResult, pings_ingest
from scoring.models import RecomputeRequest, UsagePing
from tests.factories import AccountFactory, InstanceFactory, SubscriptionFactory
from tests.processes import wait_for
from tests.scoring.payloads import RECORDED_AT, encoded, payload

pytestmark = [pytest.mark.django_db(transaction=True)]


def _week(uuid: str, hours_back: int, **fields) -> bytes:
    moment = RECORDED_AT - dt.timedelta(hours=hours_back)
    return encoded(payload(uuid=uuid, recorded_at=moment.isoformat(), **fields))


@contextmanager
def _own_connection(**settings: str):
    with psycopg.connect(**connection.get_connection_params()) as own:
        for name, value in settings.items():
            own.execute(f"SET {name} = '{value}'")
        yield own
        own.rollback()


@contextmanager
def _row_locked(table: str, column: str, value: int):
    """Hold a row lock on a connection of our own: a chunk that writes that row, or a row
    referring to it, waits until we let go."""
    with _own_connection() as own:
        own.execute(f'SELECT 1 FROM "{table}" WHERE "{column}" = %s FOR UPDATE', [value])  # noqa: S608
        yield own


def _account_locked(account: Account):
    return _row_locked(Account._meta.db_table, "id", account.pk)


def _ingest_in_background(lines: list[bytes]) -> tuple[threading.Thread, list]:
    """Results as they come; an exception, if any, is the list's last item."""
    results: list[IngestResult | Exception] = []

    def run() -> None:
        try:
            results.extend(pings_ingest(lines=enumerate(lines, 1), source="cli"))
        except Exception as error:  # the test reports it
            results.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


def _finished(thread: threading.Thread, results: list) -> list[IngestResult]:
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert not any(isinstance(r, Exception) for r in results), results[-1]
    return results


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_the_next_chunk_is_stored_while_the_one_before_waits(on_postgres):
    held, free = AccountFactory(), AccountFactory()
    slow = InstanceFactory(account=held, uuid="held-1")
    fast = InstanceFactory(account=free, uuid="free-1")
    lines = [_week(slow.uuid, n) for n in range(CHUNK_SIZE)]
    lines += [_week(fast.uuid, n) for n in range(CHUNK_SIZE)]

    with _account_locked(held):  # the first chunk waits to mark its account
        thread, results = _ingest_in_background(lines)
        wait_for(
            lambda: UsagePing.objects.filter(instance=fast).count() == CHUNK_SIZE,
            20,
            "the second chunk to commit while the first waits for its account",
        )
        assert not UsagePing.objects.filter(instance=slow).exists()
        assert not results  # answers keep their order: the first chunk's come first
    results = _finished(thread, results)

    assert [r.line for r in results] == list(range(1, 2 * CHUNK_SIZE + 1))
    assert {r.status for r in results} == {"accepted"}
    assert UsagePing.objects.count() == 2 * CHUNK_SIZE


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

    with _account_locked(subscription.account):  # creating the instance waits
        thread, results = _ingest_in_background(first_chunk + second_chunk)
        wait_for(lambda: _waiting_on_a_lock() >= 1, 20, "the first chunk to wait")
        time.sleep(1)  # time enough for a second chunk that did not wait to commit
        assert not UsagePing.objects.exists()
    results = _finished(thread, results)

    by_line = {r.line: r.status for r in results}
    assert by_line[2] == "accepted"
    assert by_line[CHUNK_SIZE + 1] == "conflict"
    stored = UsagePing.objects.get(instance=known, recorded_at=RECORDED_AT - dt.timedelta(hours=1))
    assert stored.active_users == 64


def test_an_instance_another_writer_creates_meanwhile_is_used_not_an_error(on_postgres):
    subscription = SubscriptionFactory(license_id="lic-7")
    other_writer_may_commit, other_writer_wrote = threading.Event(), threading.Event()

    def other_writer() -> None:
        try:
            with transaction.atomic():
                Instance.objects.create(account=subscription.account, uuid="new-7")
                other_writer_wrote.set()
                other_writer_may_commit.wait(timeout=30)
        finally:
            connection.close()

    writer = threading.Thread(target=other_writer)
    writer.start()
    assert other_writer_wrote.wait(timeout=10)
    thread, results = _ingest_in_background(
        [_week("new-7", n, license_id="lic-7") for n in range(3)]
    )
    wait_for(lambda: _waiting_on_a_lock() >= 1, 20, "the ingestion to wait for the other writer")
    other_writer_may_commit.set()
    writer.join(timeout=30)
    results = _finished(thread, results)

    assert [r.status for r in results] == ["accepted"] * 3
    [instance] = Instance.objects.filter(uuid="new-7")
    assert UsagePing.objects.filter(instance=instance).count() == 3


def test_a_chunk_aborted_to_break_a_deadlock_is_retried(on_postgres):
    """The chunk marks accounts in id order: it takes the first account's mark, then waits
    for the second, which we hold; then we ask for the first. PostgreSQL aborts the chunk
    (its deadlock check runs first) and the chunk, retried, stores everything."""
    first, second = sorted([AccountFactory(), AccountFactory()], key=lambda a: a.pk)
    lines = [
        _week(InstanceFactory(account=first, uuid="d-1").uuid, 0),
        _week(InstanceFactory(account=second, uuid="d-2").uuid, 0),
    ]
    for account in (first, second):
        RecomputeRequest.objects.create(account=account, requested_at=RECORDED_AT)
    marks = RecomputeRequest._meta.db_table

    with _own_connection(deadlock_timeout="30s") as own:  # so the chunk is the one aborted
        own.execute(f'SELECT 1 FROM "{marks}" WHERE account_id = %s FOR UPDATE', [second.pk])  # noqa: S608
        thread, results = _ingest_in_background(lines)
        wait_for(lambda: _waiting_on_a_lock() >= 1, 20, "the chunk to wait for the second mark")
        own.execute(f'SELECT 1 FROM "{marks}" WHERE account_id = %s FOR UPDATE', [first.pk])  # noqa: S608
    results = _finished(thread, results)

    assert [r.status for r in results] == ["accepted", "accepted"]
    assert UsagePing.objects.count() == 2


def test_a_long_batch_from_a_users_key_is_checked_line_by_line_on_every_stream(
    on_postgres, api, owner, outsider
):
    """Over 200 lines the batch endpoint stores on streams: the key's user is checked
    there too, and a last chunk of one line takes the lone-ping path on its stream."""
    mine = InstanceFactory(account=AccountFactory(owner=owner), uuid="mine-1")
    theirs = InstanceFactory(account=AccountFactory(owner=outsider), uuid="theirs-1")
    lines = [_week(mine.uuid if n % 3 else theirs.uuid, n) for n in range(2 * CHUNK_SIZE + 1)]
    _, key = api_key_create(name="owner", scopes=["ingest"], user=owner)

    response = api.post_raw(
        "/api/v1/pings/batch", b"\n".join(lines), key=key, content_type="application/x-ndjson"
    )

    assert response.status_code == 200
    statuses = [(r["line"], r["status"]) for r in response.json()["results"]]
    expected = [(n + 1, "accepted" if n % 3 else "rejected") for n in range(2 * CHUNK_SIZE + 1)]
    assert statuses == expected
    assert set(UsagePing.objects.values_list("instance_uuid", flat=True)) == {mine.uuid}
    assert UsagePing.objects.count() == sum(1 for _, status in expected if status == "accepted")


def test_inside_the_callers_transaction_everything_is_stored_in_it(on_postgres):
    instance = InstanceFactory(uuid="tx-1")
    lines = [_week(instance.uuid, n) for n in range(2 * CHUNK_SIZE)]
    with transaction.atomic():
        results = list(pings_ingest(lines=enumerate(lines, 1), source="cli"))
        transaction.set_rollback(True)
    assert len(results) == 2 * CHUNK_SIZE
    assert not UsagePing.objects.exists()  # nothing committed behind the caller's back
