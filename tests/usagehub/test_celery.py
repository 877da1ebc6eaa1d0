"""The Celery wiring: tasks run in-process by default, on a real worker over Redis, and a
dead or hung broker fails a publish fast instead of hanging the caller."""

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.tasks import sessions_purge_expired
from tests.processes import celery_worker, database_url_of_tests, free_port, private_redis
from usagehub.celery import app

ROOT = Path(__file__).resolve().parents[2]


def _expired_session() -> None:
    Session.objects.create(
        session_key="expired", session_data="", expire_date=timezone.now() - dt.timedelta(days=1)
    )
    Session.objects.create(
        session_key="live", session_data="", expire_date=timezone.now() + dt.timedelta(days=1)
    )


def test_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


@pytest.mark.django_db
def test_session_purge_drops_only_expired_sessions():
    _expired_session()
    sessions_purge_expired.delay()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["live"]


def _publish_with_broker(url: str, queue: str = "celery") -> subprocess.CompletedProcess[str]:
    """Publish one task from a fresh process configured like production, against ``url``."""
    code = (
        "import time, django; django.setup()\n"
        "from accounts.tasks import sessions_purge_expired\n"
        "start = time.monotonic()\n"
        "try:\n"
        f"    sessions_purge_expired.apply_async(queue={queue!r})\n"
        "    print('published')\n"
        "except Exception as exc:\n"
        "    print('failed', type(exc).__name__)\n"
        "print(round(time.monotonic() - start, 2))\n"
    )
    env = {**os.environ, "CELERY_BROKER_URL": url, "CELERY_TASK_ALWAYS_EAGER": "false"}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_publishing_to_a_dead_broker_fails_fast():
    result = _publish_with_broker(f"redis://127.0.0.1:{free_port()}/0")
    outcome, seconds = result.stdout.split("\n")[-3:-1]
    assert outcome.startswith("failed"), result.stdout + result.stderr
    assert float(seconds) < 15


def test_publishing_to_a_hung_broker_fails_fast():
    with private_redis() as redis:
        redis.pause()
        result = _publish_with_broker(redis.url)
    outcome, seconds = result.stdout.split("\n")[-3:-1]
    assert outcome.startswith("failed"), result.stdout + result.stderr
    assert float(seconds) < 15


@pytest.fixture
def shared_broker_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url:
        pytest.skip("needs a Redis broker (set CELERY_BROKER_URL=redis://...)")
    return url


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_tasks_from_redis(on_postgres, shared_broker_url):
    queue = f"test-{uuid.uuid4().hex}"  # a queue of this test's own on the shared Redis
    worker = subprocess.Popen(
        celery_worker(queue),
        cwd=ROOT,
        env={
            **os.environ,
            "CELERY_BROKER_URL": shared_broker_url,
            "DATABASE_URL": database_url_of_tests(),
            "CELERY_TASK_ALWAYS_EAGER": "false",
        },
    )
    try:
        _expired_session()
        result = _publish_with_broker(shared_broker_url, queue)
        assert "published" in result.stdout, result.stdout + result.stderr
        deadline = time.monotonic() + 60
        while Session.objects.filter(session_key="expired").exists():
            assert time.monotonic() < deadline, "the worker never ran the task"
            assert worker.poll() is None, "the worker died"
            time.sleep(0.2)
        assert Session.objects.filter(session_key="live").exists()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        shared = redis.Redis.from_url(shared_broker_url)
        shared.delete(*shared.keys(f"*{queue}*"), queue)
