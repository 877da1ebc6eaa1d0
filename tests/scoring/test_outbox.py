"""The web process's recompute outbox: claims gathered over a window go out as one
message, a failing publish does not stop the next ones, and nothing is lost at exit."""

import threading
import time

from scoring.outbox import RecomputeOutbox


class Sink:
    """Collects what the outbox publishes; fails the first ``failures`` publishes."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[list[int]] = []
        self.failures = failures
        self.arrived = threading.Event()

    def __call__(self, ids: list[int]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker down")
        self.sent.append(ids)
        self.arrived.set()

    def wait(self) -> list[list[int]]:
        assert self.arrived.wait(5), "nothing was published"
        self.arrived.clear()
        return self.sent


def test_claims_within_one_window_go_out_as_one_message():
    sink = Sink()
    outbox = RecomputeOutbox(sink, window=0.2)
    for ids in ([3], [1], [3]):
        outbox.put(ids)
    assert sink.wait() == [[1, 3]]
    outbox.put([2])
    assert sink.wait() == [[1, 3], [2]]


def test_a_failed_publish_does_not_stop_the_outbox():
    sink = Sink(failures=1)
    outbox = RecomputeOutbox(sink, window=0.01)
    outbox.put([1])  # fails: its mark stays for the sweep
    time.sleep(0.2)
    outbox.put([2])
    assert sink.wait() == [[2]]


def test_a_flush_at_exit_waits_for_the_send_under_way():
    started = threading.Event()

    def slow(ids: list[int]) -> None:
        started.set()
        time.sleep(0.3)
        sink(ids)

    sink = Sink()
    outbox = RecomputeOutbox(slow, window=0.01)
    outbox.put([7])
    assert started.wait(5)  # the thread took the ids and is sending them
    outbox.flush()  # what atexit calls: it returns only once they are sent
    assert sink.sent == [[7]]


def test_pending_claims_are_sent_on_flush_as_the_process_exits():
    sink = Sink()
    outbox = RecomputeOutbox(sink, window=60)  # the thread would wait a minute
    outbox.put([5])
    outbox.flush()  # what atexit calls
    assert sink.sent == [[5]]
