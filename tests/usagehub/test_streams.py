"""in_order_on_streams: work side by side, results in input order."""

import threading

import pytest

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

    assert [r for _, r in in_order_on_streams(range(4), work, streams=2, must_follow=never)] == [
        0,
        1,
        2,
        3,
    ]


def test_an_item_that_must_follow_one_in_flight_waits_for_it():
    running: set[int] = set()
    overlapped: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            overlapped.extend((n, other) for other in running)
            running.add(n)
        threading.Event().wait(0.05)
        with lock:
            running.discard(n)
        return n

    def same_parity(earlier: int, later: int) -> bool:
        return earlier % 2 == later % 2

    list(in_order_on_streams([0, 2, 4, 1, 3], work, streams=2, must_follow=same_parity))
    assert all(a % 2 != b % 2 for a, b in overlapped)
    assert overlapped  # 4 and 1 did run side by side


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
