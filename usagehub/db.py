"""Database connection helpers for hot paths."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import psycopg
from django.db import InterfaceError, OperationalError, connection
from psycopg.types.numeric import Int8Dumper

T = TypeVar("T")


def read_checking_connection(read: Callable[[], T]) -> T:
    """Run a request's first statement, a read, as its own connection health check.

    Django checks a persistent connection with a ``SELECT 1`` round trip before a
    request's first query (``CONN_HEALTH_CHECKS``). On the ingestion path that round
    trip cost more than the lookup it guards. Here the read goes first; if it fails
    because the connection died (a database restart), the connection is replaced and
    the read — harmless to repeat — runs once more.
    """
    # Django's own flags (django-stubs does not declare them).
    checks = connection.health_check_enabled and not connection.health_check_done  # type: ignore[attr-defined]
    if connection.connection is None or connection.in_atomic_block or not checks:
        return read()
    connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        return read()
    except (OperationalError, InterfaceError):
        if connection.is_usable():
            raise  # a real error, not a dead connection
        connection.close()
        return read()


# What a prepared statement raises once a schema change elsewhere has outdated it (a
# returned column changed type) or it was dropped on the server (a pooler's reset).
_STALE_PLAN = (psycopg.errors.FeatureNotSupported, psycopg.errors.InvalidSqlStatementName)


def prepared_rows(statement: str | bytes, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    """PostgreSQL only: the rows of ``statement``, prepared once per connection.

    Django's cursors bind parameters on the client, so PostgreSQL parses and plans
    every statement again; on the ingestion path that was a fifth of the database's
    work per ping. This runs on a psycopg cursor that binds on the server and prepares
    (``DATABASE_PREPARED_STATEMENTS``), inside the caller's transaction if any, with
    Django's exceptions, but without Django's per-query wrappers (no DEBUG query log).
    Every int is sent as ``bigint``, so values of different sizes share one plan. A
    plan outdated by a migration is dropped and the statement run once more, when no
    transaction is open.
    """
    connection.ensure_connection()
    raw = connection.connection
    with connection.wrap_database_errors:
        try:
            return _rows(raw, statement, params)
        except _STALE_PLAN:
            if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                raise  # the caller's transaction is aborted: the caller handles it
            raw.execute("DEALLOCATE ALL")  # psycopg forgets its plans too
            return _rows(raw, statement, params)


def _rows(
    raw: psycopg.Connection[Any],
    statement: str | bytes,
    params: Sequence[Any] | Mapping[str, Any],
) -> list[Any]:
    with psycopg.Cursor(raw) as cursor:
        cursor.adapters.register_dumper(int, Int8Dumper)
        return cursor.execute(statement, params, prepare=True).fetchall()
