"""Celery tasks of the CRM side: thin, idempotent, taking ids."""

from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True)
def sessions_purge_expired() -> None:
    """Nightly housekeeping: drop expired login sessions so the table stays small."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
