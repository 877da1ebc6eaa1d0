"""Database work on several connections at once, with the results in input order.

One connection keeps one PostgreSQL backend, so one core, busy: a long bulk write
that is bound by PostgreSQL leaves the others idle. Here each stream is a thread with
its own Django connection, closed when the work ends.
"""

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

T = TypeVar("T")
R = TypeVar("R")


def in_order_on_streams(
    items: Iterable[T],
    work: Callable[[T], R],
    *,
    streams: int,
    must_follow: Callable[[T, T], bool],
) -> Iterator[tuple[T, R]]:
    """``(item, work(item))`` in the order of ``items``, up to ``streams`` items at once.

    An item for which ``must_follow(earlier, item)`` holds against one still in flight
    waits until that one is done: what the order of two items decides (which of two
    payloads for one identity is stored first) stays as if they ran one by one. An
    error is raised when its item's turn comes, once the work in flight has ended; the
    later items in flight may have been done by then, unreported.
    """
    executors = [
        ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-stream-{n}")
        for n in range(streams)
    ]
    used: set[int] = set()
    in_flight: deque[tuple[T, Future[R]]] = deque()
    try:
        for number, item in enumerate(items):
            while in_flight and (
                len(in_flight) == streams
                or any(must_follow(earlier, item) for earlier, _ in in_flight)
            ):
                earlier, future = in_flight.popleft()
                yield earlier, future.result()
            # In flight are the items just before this one, one per other stream: this
            # item's stream is free.
            stream = number % streams
            used.add(stream)
            in_flight.append((item, executors[stream].submit(work, item)))
        while in_flight:
            earlier, future = in_flight.popleft()
            yield earlier, future.result()
    finally:
        for stream, executor in enumerate(executors):
            if stream in used:
                executor.submit(connections.close_all)  # on that stream's own thread
            executor.shutdown(wait=True)
