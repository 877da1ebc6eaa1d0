"""Emit and deliver signed webhooks.

Each delivery's body is signed with HMAC-SHA256 over ``"{timestamp}.{body}"`` using the
endpoint's secret; the header ``X-UsageHub-Signature: t=<timestamp>,v1=<hex digest>``
carries both, so a receiver can check the signature and refuse old replays.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from scoring.models import WebhookDelivery, WebhookEndpoint

SIGNATURE_HEADER = "X-UsageHub-Signature"
TIMEOUT_SECONDS = 10


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def webhooks_emit(*, event: str, payloads: Iterable[dict[str, Any]]) -> list[WebhookDelivery]:
    """Queue a delivery of each payload to every active endpoint subscribed to ``event``;
    they are sent once the caller's transaction commits."""
    payloads = list(payloads)
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if event in e.events]
    if not payloads or not endpoints:
        return []
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event=event, payload=payload)
        for endpoint in endpoints
        for payload in payloads
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _enqueue(ids), robust=True)
    return deliveries


def _enqueue(ids: list[int]) -> None:
    from scoring.tasks import webhook_deliver

    for pk in ids:
        webhook_deliver.delay(pk)


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx; the task retries with backoff."""


def webhook_attempt(*, delivery: WebhookDelivery) -> None:
    """POST the delivery once, log the attempt; raise DeliveryFailed unless it was 2xx."""
    body = json.dumps(
        {"event": delivery.event, "delivery": delivery.pk, "data": delivery.payload},
        separators=(",", ":"),
    ).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 — admin-configured http(s) URL
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "UsageHub-Webhooks/1",
            "X-UsageHub-Event": delivery.event,
            "X-UsageHub-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: sign(delivery.endpoint.secret, timestamp, body),
        },
    )
    started = time.monotonic()
    code, error = None, ""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 — http(s) only  # nosec B310
            code = response.status
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        error = str(getattr(exc, "reason", exc))[:500]
    ok = code is not None and 200 <= code < 300
    delivery.attempts = [
        *delivery.attempts,
        {
            "at": timezone.now().isoformat(),
            "status_code": code,
            "error": error,
            "ms": round((time.monotonic() - started) * 1000),
        },
    ]
    if ok:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, timezone.now()
    delivery.save(update_fields=["attempts", "status", "delivered_at"])
    if not ok:
        raise DeliveryFailed(error or f"HTTP {code}")


def retry_delay(attempt: int) -> int:
    """Exponential backoff: base × 2^(attempt-1), capped at an hour."""
    return min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), 3600)


def webhook_retry_planned(*, delivery: WebhookDelivery, seconds: int) -> None:
    """Note on the last attempt when the next one will be, so the log shows the backoff."""
    delivery.attempts[-1]["retry_in_seconds"] = seconds
    delivery.save(update_fields=["attempts"])


def webhook_gave_up(*, delivery: WebhookDelivery) -> None:
    delivery.status = WebhookDelivery.Status.FAILED
    delivery.save(update_fields=["status"])


def webhook_replay(*, delivery: WebhookDelivery) -> None:
    """Send a delivery again from the admin (its log keeps the earlier attempts)."""
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.save(update_fields=["status"])
    _enqueue([delivery.pk])
