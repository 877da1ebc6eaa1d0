"""Celery tasks of the usage side: thin, idempotent, taking ids."""

from celery import shared_task
from django.db import OperationalError

from scoring.recompute import recompute_enqueue
from scoring.tracking import metric_values_backfill
from scoring.usage import account_usage_refresh


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def account_recompute(account_id: int) -> None:
    """Refresh one account. Idempotent, so a redelivery after a worker death is safe."""
    account_usage_refresh(account_id=account_id)


@shared_task
def recompute_sweep() -> int:
    """Enqueue every marked account whose message was lost (broker down, worker killed)."""
    return recompute_enqueue()


@shared_task(acks_late=True)
def metrics_backfill(key_paths: list[str]) -> int:
    """Extract newly tracked metrics from every stored payload."""
    return metric_values_backfill(key_paths=key_paths)
