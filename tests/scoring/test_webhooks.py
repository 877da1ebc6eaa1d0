"""Webhooks against a real local HTTP receiver: signed deliveries, retries with backoff,
a delivery log with every attempt, and replay."""

import contextlib
import datetime as dt
import hashlib
import hmac
import http.server
import threading
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Activity
from scoring.health import accounts_recompute
from scoring.models import WebhookDelivery, WebhookEndpoint
from scoring.webhooks import SIGNATURE_HEADER, webhook_replay
from tests.scoring.test_health import _customer

pytestmark = pytest.mark.django_db


class Receiver:
    """An HTTP server on a free loopback port that records requests and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[Any, bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _drop_health(customer) -> None:
    """A score, then a red sentiment: health.changed and alert.opened fire."""
    accounts_recompute(account_ids=[customer.pk], as_of=timezone.localdate() - dt.timedelta(days=1))
    Activity.objects.create(
        account=customer,
        kind="sentiment",
        sentiment="red",
        body="Escalation",
        occurred_at=timezone.now(),
    )
    accounts_recompute(account_ids=[customer.pk])


def _retry_like_a_worker(delivery_id: int) -> None:
    """Eager tasks do not retry by themselves: run each retry as a worker would, with the
    retry count Celery would pass (the countdown is the broker's business)."""
    from celery.exceptions import Retry

    from scoring.tasks import WEBHOOK_MAX_RETRIES, webhook_deliver
    from scoring.webhooks import DeliveryFailed

    for retries in range(1, WEBHOOK_MAX_RETRIES + 1):
        if WebhookDelivery.objects.get(pk=delivery_id).status != "pending":
            return
        with contextlib.suppress(Retry, DeliveryFailed):
            webhook_deliver.apply(args=(delivery_id,), retries=retries)


def test_a_receiver_gets_a_correctly_signed_delivery(receiver, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpoint.objects.create(
        name="CRM", url=receiver.url, events=["health.changed"]
    )
    customer = _customer(ci_users=40)
    with django_capture_on_commit_callbacks(execute=True):
        _drop_health(customer)
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert headers["X-UsageHub-Event"] == "health.changed"
    stamp, signature = (part.split("=", 1)[1] for part in headers[SIGNATURE_HEADER].split(","))
    expected = hmac.new(
        endpoint.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert b'"to":"red"' in body
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered"
    assert delivery.attempts[0]["status_code"] == 200


def test_only_subscribed_events_are_sent(receiver, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.create(name="Alerts", url=receiver.url, events=["alert.opened"])
    customer = _customer(ci_users=40)
    with django_capture_on_commit_callbacks(execute=True):
        _drop_health(customer)
    events = {headers["X-UsageHub-Event"] for headers, _ in receiver.requests}
    assert events == {"alert.opened"}


def test_a_failing_receiver_is_retried_with_backoff_and_every_attempt_is_logged(
    django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 5
    failing = Receiver(status=500)
    try:
        WebhookEndpoint.objects.create(name="Down", url=failing.url, events=["health.changed"])
        with django_capture_on_commit_callbacks(execute=True):
            _drop_health(_customer(ci_users=40))  # the first attempt, then a Retry
        _retry_like_a_worker(WebhookDelivery.objects.get().pk)
    finally:
        failing.close()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert len(delivery.attempts) == len(failing.requests) == 7
    assert all(a["status_code"] == 500 for a in delivery.attempts)
    delays = [a["retry_in_seconds"] for a in delivery.attempts[:-1]]
    assert delays == [5, 10, 20, 40, 80, 160]


def test_an_unreachable_receiver_is_logged_and_a_replay_delivers(
    django_capture_on_commit_callbacks, receiver, settings
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    endpoint = WebhookEndpoint.objects.create(
        name="Moved", url="http://127.0.0.1:9/hooks", events=["health.changed"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        _drop_health(_customer(ci_users=40))
    delivery = WebhookDelivery.objects.get()
    _retry_like_a_worker(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts[0]["error"]
    endpoint.url = receiver.url
    endpoint.save()
    delivery.refresh_from_db()
    webhook_replay(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert len(receiver.requests) == 1
