"""usagehub.db: a request's first statement as its connection's health check; prepared
statements that survive schema changes and pooler resets."""

import pytest
from django.db import (
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    connection,
    connections,
    transaction,
)

from usagehub.db import prepared_rows, read_checking_connection


@pytest.mark.django_db(transaction=True)
def test_an_error_on_a_live_connection_is_raised_not_retried(on_postgres):
    runs: list[None] = []

    def cancelled() -> None:
        runs.append(None)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(1)")

    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 10")
    connection.health_check_done = False  # as at the start of a request
    try:
        with pytest.raises(OperationalError, match="statement timeout"):
            read_checking_connection(cancelled)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    assert len(runs) == 1


@pytest.mark.django_db
def test_prepared_rows_raise_djangos_errors(on_postgres):
    with pytest.raises(ProgrammingError, match="no_such_table"):
        prepared_rows("SELECT * FROM no_such_table WHERE id = %s", [1])


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return [name for (name,) in cursor.fetchall()]


@pytest.mark.django_db
def test_ints_of_every_size_share_one_prepared_statement(on_postgres):
    for value in (1, 40_000, 3_000_000_000):
        assert prepared_rows("SELECT %s::bigint + 1", [value]) == [(value + 1,)]
    assert len(_prepared_statements()) == 1


@pytest.fixture
def probe_table():
    """A table another connection can change under this connection's prepared plans."""
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("CREATE TABLE stale_probe (v integer); INSERT INTO stale_probe VALUES (7)")
    yield other
    with other.cursor() as cursor:
        cursor.execute("DROP TABLE stale_probe")
    other.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "stale_by",
    [
        "ALTER TABLE stale_probe ALTER COLUMN v TYPE text",  # a migration elsewhere
        None,  # a pooler's reset: the statement is gone from the server
    ],
    ids=["column-type-changed", "statement-deallocated"],
)
def test_a_plan_gone_stale_is_prepared_again(on_postgres, probe_table, stale_by):
    assert prepared_rows("SELECT v FROM stale_probe", []) == [(7,)]
    if stale_by:
        with probe_table.cursor() as cursor:
            cursor.execute(stale_by)
    else:
        [name] = _prepared_statements()
        with connection.cursor() as cursor:
            cursor.execute(f"DEALLOCATE {name}")  # one by name: psycopg does not notice
    assert prepared_rows("SELECT v FROM stale_probe", []) == [("7",) if stale_by else (7,)]


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_a_stale_plan_is_the_callers_error(on_postgres, probe_table):
    assert prepared_rows("SELECT v FROM stale_probe", []) == [(7,)]
    with probe_table.cursor() as cursor:
        cursor.execute("ALTER TABLE stale_probe ALTER COLUMN v TYPE text")
    with pytest.raises(NotSupportedError, match="cached plan"), transaction.atomic():
        prepared_rows("SELECT v FROM stale_probe", [])
