"""Recompute bookkeeping: mark accounts stale, tell Celery after commit, sweep what was lost.

The mark is a row written in the same transaction as the data that made the
account stale, so it survives a dead broker or a worker killed mid-task. Many
pings for one account coalesce into one queued recompute: an account already
enqueued within ``RECOMPUTE_REQUEUE_SECONDS`` is not enqueued again.
"""

import datetime as dt
import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import KombuError, OperationalError
from redis.exceptions import RedisError

from scoring.models import RecomputeRequest

logger = logging.getLogger(__name__)


def _enqueue_ttl() -> dt.timedelta:
    """How long an enqueued recompute may take before the sweep enqueues it again: longer
    than a recompute, shorter than the broker's visibility timeout."""
    return dt.timedelta(seconds=settings.RECOMPUTE_REQUEUE_SECONDS)


PUBLISH_BATCH = 200  # accounts per message after pings
RECOMPUTE_ALL_BATCH = 1000  # per message of a whole-book run: two read-ahead batches, and
# enough messages to keep every worker process busy to the end (docs/benchmarks.md)
BROKER_ERRORS = (OperationalError, KombuError, RedisError, OSError)
# After a failed publish, leave recomputes to the sweep for a while instead of making
# every request wait on the broker's timeout again.
BROKER_BACKOFF_SECONDS = 15.0
_broker_down_until = 0.0


def recompute_mark(*, account_ids: Iterable[int]) -> None:
    """Mark accounts stale inside the caller's transaction; enqueue them once it commits."""
    ids = sorted(set(account_ids))
    if not ids:
        return
    now = timezone.now()
    RecomputeRequest.objects.bulk_create(
        [RecomputeRequest(account_id=pk, requested_at=now) for pk in ids],
        update_conflicts=True,
        unique_fields=["account"],
        update_fields=["requested_at"],
    )
    # robust: a failing recompute (in-process on the embedded default) must not fail the
    # write that committed; the mark stays and the sweep retries it.
    transaction.on_commit(lambda: recompute_enqueue(account_ids=ids), robust=True)


def recompute_mark_all(*, account_ids: list[int]) -> None:
    """Mark accounts without enqueueing them one by one (a bulk recompute follows); the
    marks make sure nothing is lost if that bulk run dies."""
    now = timezone.now()
    RecomputeRequest.objects.bulk_create(
        [RecomputeRequest(account_id=pk, requested_at=now, enqueued_at=now) for pk in account_ids],
        update_conflicts=True,
        unique_fields=["account"],
        update_fields=["requested_at", "enqueued_at"],
    )


def recompute_enqueue(*, account_ids: Iterable[int] | None = None) -> int:
    """Publish a recompute for each marked account not enqueued lately; returns how many.

    ``account_ids=None`` means every marked account (the sweep). A broker failure is
    logged, not raised: the marks stay, and the next sweep tries again.
    """
    now = timezone.now()
    due = RecomputeRequest.objects.filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - _enqueue_ttl())
    )
    if account_ids is not None:
        due = due.filter(account_id__in=list(account_ids))
    ids = list(due.values_list("account_id", flat=True))
    if not ids or _broker_resting():
        return 0
    RecomputeRequest.objects.filter(account_id__in=ids).update(enqueued_at=now)
    return recompute_publish(ids)


def recompute_publish(account_ids: list[int], *, per_message: int = PUBLISH_BATCH) -> int:
    """Publish a recompute for accounts whose marks were just stamped as enqueued, up to
    ``per_message`` accounts per message (a worker scores each message in batches);
    returns how many went out. On a broker failure, or while the broker rests, the rest
    are unstamped for the sweep."""
    from scoring.tasks import accounts_recompute_batch  # tasks import this module

    published = 0
    if not _broker_resting():
        try:
            for start in range(0, len(account_ids), per_message):
                batch = account_ids[start : start + per_message]
                accounts_recompute_batch.delay(batch)
                published += len(batch)
        except BROKER_ERRORS as exc:
            _broker_down(len(account_ids) - published, exc)
    if published < len(account_ids):
        RecomputeRequest.objects.filter(account_id__in=account_ids[published:]).update(
            enqueued_at=None
        )
    return published


def _broker_resting() -> bool:
    """True for a while after a failed publish: recomputes are left to the sweep."""
    return time.monotonic() < _broker_down_until


def recompute_claim_before(now: dt.datetime) -> dt.datetime | None:
    """A mark written at ``now`` may claim its recompute message (and publish it after
    commit) unless one went out after this moment; None while the broker rests."""
    return None if _broker_resting() else now - _enqueue_ttl()


def _broker_down(left: int, exc: Exception) -> None:
    global _broker_down_until
    _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
    logger.warning("broker unavailable, %d recomputes left to the sweep: %s", left, exc)
