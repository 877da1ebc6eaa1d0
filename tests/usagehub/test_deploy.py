"""The shipped run configuration works as documented: each line of deploy/Procfile is
started exactly as written (web with deploy/gunicorn.conf.py, a worker, beat) on
production settings against PostgreSQL and a private Redis."""

import http.client
import json
import os
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.api_keys import api_key_create
from scoring.models import RecomputeRequest, ScoreSnapshot
from tests.factories import AccountFactory, InstanceFactory, SubscriptionFactory
from tests.processes import ROOT, app_env, free_port, private_redis, running, wait_for
from tests.scoring.payloads import encoded, payload

pytestmark = [pytest.mark.django_db(transaction=True)]


def procfile() -> dict[str, str]:
    lines = (ROOT / "deploy" / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def _get(port: int, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def test_the_procfile_names_web_worker_and_beat():
    assert set(procfile()) == {"web", "worker", "beat"}
    assert "-c deploy/gunicorn.conf.py" in procfile()["web"]


def test_web_worker_and_beat_start_from_the_procfile_and_do_their_jobs(on_postgres, tmp_path):
    pinged, swept = AccountFactory(), AccountFactory()
    SubscriptionFactory(account=pinged, licensed_seats=100)
    InstanceFactory(account=pinged, uuid="deploy-0001")
    _, key = api_key_create(name="collector", scopes=["ingest"])
    port = free_port()
    with private_redis() as redis:
        env = app_env(
            redis.url,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            DJANGO_DEBUG="false",
            SECRET_KEY="deploy-test-" + "k" * 50,
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="false",  # no TLS proxy in front in this test
            GUNICORN_BIND=f"127.0.0.1:{port}",
            WEB_CONCURRENCY="2",
            WORKER_CONCURRENCY="1",
            BEAT_SCHEDULE_FILE=str(tmp_path / "beat-schedule"),
            RECOMPUTE_SWEEP_SECONDS="1",
        )
        lines = procfile()
        with (
            running(["bash", "-c", f"exec {lines['web']}"], env, port=port),
            running(["bash", "-c", f"exec {lines['worker']}"], env),
            running(["bash", "-c", f"exec {lines['beat']}"], env),
        ):
            status, health = _get(port, "/healthz")
            assert status == 200 and health["checks"] == {"database": "ok", "broker": "ok"}

            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(
                "POST",
                "/api/v1/pings",
                body=encoded(payload(uuid="deploy-0001", license_billable_users=42)),
                headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
            )
            assert conn.getresponse().status == 202
            wait_for(
                lambda: ScoreSnapshot.objects.filter(account=pinged).exists(),
                60,
                "the worker to score the ping",
            )
            # A mark whose message never went out: only beat's sweep can recover it.
            RecomputeRequest.objects.create(account=swept, requested_at=timezone.now())
            wait_for(
                lambda: ScoreSnapshot.objects.filter(account=swept).exists(),
                60,
                "beat's sweep to recompute a marked account",
            )
    assert ScoreSnapshot.objects.get(account=pinged).billable_users == 42


def test_gunicorn_defaults_to_a_bounded_number_of_workers(monkeypatch):
    """Each worker holds a database connection: a big host must not start 129 of them."""
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    config: dict = {}
    exec((ROOT / "deploy" / "gunicorn.conf.py").read_text(), config)  # noqa: S102 — our own file
    assert 3 <= config["workers"] <= 9
    monkeypatch.setenv("WEB_CONCURRENCY", "17")
    exec((ROOT / "deploy" / "gunicorn.conf.py").read_text(), config)  # noqa: S102
    assert config["workers"] == 17
