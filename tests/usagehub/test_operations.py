"""Operations: health check, security headers, login throttling, payload retention."""

import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from scoring.models import UsagePing

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database_and_the_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"
    assert "broker" in response.json()["checks"]


def test_pages_carry_a_content_security_policy(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    docs = client.get("/api/docs/")["Content-Security-Policy"]
    assert "'unsafe-inline'" in docs.split("script-src")[1].split(";")[0]


def test_password_guessing_is_throttled_per_username_and_address(client, owner):
    cache.clear()
    for _ in range(5):
        assert (
            client.post(reverse("login"), {"username": "alice", "password": "x"}).status_code == 200
        )
    blocked = client.post(
        reverse("login"), {"username": "alice", "password": "correct horse battery"}
    )
    assert blocked.status_code == 429
    assert b"Too many failed sign-ins" in blocked.content
    assert "_auth_user_id" not in client.session
    other = client.post(reverse("login"), {"username": "bob", "password": "x"})
    assert other.status_code == 200  # another username is not locked out
    cache.clear()


def test_retention_drops_old_raw_payloads_but_keeps_extracted_values():
    old = UsagePing.objects.create(
        instance_uuid="u",
        recorded_at=timezone.now() - dt.timedelta(days=500),
        content_hash="a",
        payload={"x": 1},
        metrics={"m": 5},
        billable_users=7,
    )
    new = UsagePing.objects.create(
        instance_uuid="u",
        recorded_at=timezone.now() - dt.timedelta(days=5),
        content_hash="b",
        payload={"x": 2},
        metrics={"m": 6},
    )
    out = io.StringIO()
    call_command("prune_raw_payloads", "--older-than-days", "400", stdout=out)
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.payload is None
    assert (old.metrics, old.billable_users) == ({"m": 5}, 7)
    assert new.payload == {"x": 2}
    assert out.getvalue().startswith("1 raw payloads dropped")


def test_json_logs_are_one_object_per_line():
    import json
    import logging

    from usagehub.logs import JsonFormatter

    record = logging.makeLogRecord(
        {
            "name": "scoring",
            "levelname": "WARNING",
            "msg": "broker %s",
            "args": ("down",),
            "account": 42,
        }
    )
    line = json.loads(JsonFormatter().format(record))
    assert (line["message"], line["level"], line["account"]) == ("broker down", "WARNING", 42)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2", "'-2"),
        ("Acme", "Acme"),
        (-2, -2),
        (None, ""),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_made_inert(value, cell):
    from usagehub.spreadsheet import safe_cell

    assert safe_cell(value) == cell


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # no trusted proxy: the header is ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),  # our proxy says who it saw
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # a client-written hop is skipped
        ("10.0.0.2", "198.51.100.1, 10.0.0.3", "198.51.100.1"),  # two proxies of ours
        ("10.0.0.2", "not-an-address", "10.0.0.2"),
        ("10.0.0.2", "", "10.0.0.2"),
    ],
)
def test_the_client_address_comes_from_trusted_proxies_only(settings, rf, peer, forwarded, client):
    from usagehub.client_ip import client_ip

    settings.TRUSTED_PROXIES = ["10.0.0.2", "10.0.0.3"]
    request = rf.get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == client
