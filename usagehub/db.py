"""Database connection helpers for hot paths."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from django.db import InterfaceError, OperationalError, connection

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


@contextmanager
def binding_cursor() -> Iterator[psycopg.Cursor]:
    """PostgreSQL only: a psycopg cursor on Django's connection that binds parameters
    on the server, so a statement run with ``prepare=True`` is planned once per
    connection (``DATABASE_PREPARED_STATEMENTS``). Django's own cursors bind on the
    client and re-plan every statement; this one also skips Django's per-query
    wrappers. Errors are raised as Django's, and it joins Django's transaction.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor
