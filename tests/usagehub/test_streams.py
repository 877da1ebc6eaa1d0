"""in_order_on_streams: work side by side, results in input order, connections closed."""

import threading

import pytest
from django.db import connections

from usagehub.streams import in_order_on_streams


def never(earlier: int, later: int) -> bool:
    return False


def test_results_come_in_input_order_whatever_order_the_work_ends_in():
    def work(n: int) -> int:
        threading.Event().wait(0.05 if n % 2 == 0 else 0)  # even items end last
        return n * n

    results = list(in_order_on_streams(range(10), work, streams=2, must_follow=never))
    assert results == [(n, n * n) for n in range(10)]


def test_two_streams_run_side_by_side():
    both_running = threading.Barrier(2, timeout=5)

    def work(n: int) -> int:
        both_running.wait()  # breaks (and raises) unless two items run at once
        return n

    results = in_order_on_streams(range(4), work, streams=2, must_follow=never)
    assert [r for _, r in results] == [0, 1, 2, 3]


def test_an_item_that_must_follow_one_in_flight_waits_for_it():
    """Three streams, but 2 must follow 0: with 0 held back, 1 runs beside it and 2 waits."""
    release_zero = threading.Event()
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        if n == 0:
            assert release_zero.wait(timeout=5)
        return n

    def same_parity(earlier: int, later: int) -> bool:
        return earlier % 2 == later % 2

    results = in_order_on_streams(range(4), work, streams=3, must_follow=same_parity)
    first = threading.Thread(target=lambda: started.append(next(results)[0] + 100))
    first.start()
    threading.Event().wait(0.2)
    assert sorted(started) == [0, 1]  # 2 has not started while 0 is in flight
    release_zero.set()
    first.join(timeout=5)
    assert [item for item, _ in results] == [1, 2, 3]


def test_an_error_is_raised_in_its_turn_after_the_results_before_it():
    def work(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n

    seen: list[int] = []

    def consume() -> None:
        for item, _ in in_order_on_streams(range(6), work, streams=2, must_follow=never):
            seen.append(item)

    with pytest.raises(ValueError, match="three"):
        consume()
    assert seen == [0, 1, 2]


@pytest.mark.django_db(transaction=True)
def test_each_streams_connection_is_closed_when_the_work_ends_even_if_abandoned(on_postgres):
    """(SQLite's in-memory test database ignores closing, and never gets streams.)"""
    used = []

    def work(n: int) -> int:
        own = connections["default"]  # this thread's own Django connection
        own.ensure_connection()
        used.append(own)
        return n

    results = in_order_on_streams(range(10), work, streams=2, must_follow=never)
    assert next(results) == (0, 0)
    results.close()  # the caller stops early: the work in flight ends, nothing leaks
    assert 2 <= len(used) < 10
    assert len({id(c) for c in used}) == 2
    assert all(c.connection is None for c in used)
