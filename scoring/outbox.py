"""Recomputes claimed by web requests, published from one thread per process, many per message.

A Celery publish costs a web worker about as much CPU as storing the ping did (about
1.2 ms each, measured), so a request only hands its claimed account to this in-memory
outbox and answers. A daemon thread sends what gathered over a short window as one batch
message; a graceful exit sends what is left. The claim itself is a durable mark: if the
process dies first, the sweep sends it once ``RECOMPUTE_REQUEUE_SECONDS`` have passed,
as it does after a broker failure.
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from django.db import connections

from scoring.recompute import recompute_publish

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 0.05


class RecomputeOutbox:
    def __init__(self, publish: Callable[[list[int]], object], window: float) -> None:
        self._publish = publish
        self._window = window
        self._reset()

    def install_process_hooks(self) -> None:
        """A forked worker starts with an empty outbox and no thread; a graceful exit
        sends what is pending, or waits for the send under way."""
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self.flush)

    def _reset(self) -> None:
        self._lock = threading.Lock()  # guards the pending ids and the thread
        self._sending = threading.Lock()  # held from taking the ids until they are sent
        self._wake = threading.Event()
        self._pending: set[int] = set()
        self._thread: threading.Thread | None = None

    def put(self, account_ids: Iterable[int]) -> None:
        with self._lock:
            self._pending.update(account_ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="recompute-outbox", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def flush(self) -> None:
        with self._sending:
            with self._lock:
                ids, self._pending = sorted(self._pending), set()
            if ids:
                self._publish(ids)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self._window)  # let the requests of the next moments join
            self._wake.clear()  # before taking the pending ids: a later put wakes us again
            try:
                self.flush()
            except Exception:  # keep the thread alive; the marks stay for the sweep
                logger.exception("publishing recomputes failed; the sweep will send them")
            finally:
                connections.close_all()  # a failed publish unstamps marks on this thread


recompute_outbox = RecomputeOutbox(recompute_publish, WINDOW_SECONDS)
recompute_outbox.install_process_hooks()


def recompute_publish_soon(account_ids: list[int]) -> None:
    """Publish claimed recomputes through the outbox; at once when tasks run in-process
    (the embedded default, tests), where there is no broker to spare."""
    from usagehub.celery import app

    if app.conf.task_always_eager:
        recompute_publish(account_ids)
    else:
        recompute_outbox.put(account_ids)
