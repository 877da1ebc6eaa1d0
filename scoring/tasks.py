"""Celery tasks of the usage side: thin, idempotent, taking ids."""

from typing import Any

from celery import shared_task
from django.db import IntegrityError, OperationalError

from accounts.models import Account
from scoring.health import accounts_recompute
from scoring.models import WebhookDelivery
from scoring.recompute import (
    RECOMPUTE_ALL_BATCH,
    recompute_enqueue,
    recompute_mark_all,
    recompute_publish,
)
from scoring.tracking import metric_values_backfill
from scoring.webhooks import (
    DeliveryFailed,
    retry_delay,
    webhook_attempt,
    webhook_gave_up,
    webhook_retry_planned,
)

WEBHOOK_MAX_RETRIES = 6


RECOMPUTE_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    # IntegrityError: a concurrent recompute of the same new account inserted its first
    # links or snapshot first; the retry reads them and updates instead.
    "autoretry_for": (OperationalError, IntegrityError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(**RECOMPUTE_OPTIONS)
def accounts_recompute_batch(account_ids: list[int]) -> int:
    """Refresh the accounts' usage and scores (deleted ones are skipped). Idempotent: a
    redelivery after a worker death recomputes the same inputs into the same rows."""
    return accounts_recompute(account_ids=account_ids)


@shared_task(**RECOMPUTE_OPTIONS)
def account_recompute(account_id: int) -> None:
    """One account: what earlier releases queued, still understood after an upgrade."""
    accounts_recompute(account_ids=[account_id])


@shared_task
def accounts_recompute_all() -> int:
    """After a scorecard is published or a use case edited, and nightly: every account,
    in messages spread over the workers. Returns how many accounts were queued."""
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    recompute_mark_all(account_ids=ids)
    return recompute_publish(ids, per_message=RECOMPUTE_ALL_BATCH)


@shared_task
def recompute_sweep() -> int:
    """Enqueue every marked account whose message was lost (broker down, worker killed)."""
    return recompute_enqueue()


@shared_task(acks_late=True)
def metrics_backfill(key_paths: list[str]) -> int:
    """Extract newly tracked metrics from every stored payload."""
    return metric_values_backfill(key_paths=key_paths)


@shared_task(bind=True, acks_late=True, max_retries=WEBHOOK_MAX_RETRIES)
def webhook_deliver(self: Any, delivery_id: int) -> None:
    """Deliver one webhook; retry with exponential backoff, then give up (logged)."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status == WebhookDelivery.Status.DELIVERED:
        return
    try:
        webhook_attempt(delivery=delivery)
    except DeliveryFailed as exc:
        if self.request.retries >= self.max_retries:
            webhook_gave_up(delivery=delivery)
            return
        delay = retry_delay(len(delivery.attempts))
        webhook_retry_planned(delivery=delivery, seconds=delay)
        raise self.retry(exc=exc, countdown=delay) from exc
