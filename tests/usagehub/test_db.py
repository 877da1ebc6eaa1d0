"""usagehub.db: a request's first statement as its connection's health check; the
server-binding cursor."""

import pytest
from django.db import OperationalError, ProgrammingError, connection

from usagehub.db import binding_cursor, read_checking_connection


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
def test_a_binding_cursor_raises_djangos_errors(on_postgres):
    with pytest.raises(ProgrammingError, match="no_such_table"), binding_cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table WHERE id = %s", [1], prepare=True)
