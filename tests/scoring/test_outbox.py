"""The web process's recompute outbox: claims gathered over a window go out as one
message, a failing publish does not stop the next ones, and a batch message's worker
skips accounts deleted meanwhile."""

import threading
import time

import pytest

from scoring.health import accounts_recompute
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


def test_pending_claims_are_sent_on_flush_as_the_process_exits():
    sink = Sink()
    outbox = RecomputeOutbox(sink, window=60)  # the thread would wait a minute
    outbox.put([5])
    outbox.flush()  # what atexit calls
    assert sink.sent == [[5]]


@pytest.mark.django_db
def test_a_batch_naming_a_deleted_account_scores_the_others(account):
    assert accounts_recompute(account_ids=[account.pk, 987654]) == 1
