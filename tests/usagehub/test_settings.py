"""Settings: the embedded default needs nothing; production refuses to start half-configured."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROD_SECRET = "x7Qp2-long-random-production-secret-for-tests-only-91kLm3nZ"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _print_settings(env: dict[str, str], *names: str) -> list[str]:
    code = "; ".join(f"print(settings.{name})" for name in names)
    result = _run(env, "shell", "-c", f"from django.conf import settings; {code}")
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")[-len(names) - 1 : -1]


def test_embedded_default_runs_on_sqlite_with_in_process_tasks():
    engine, eager, debug = _print_settings(
        {}, "DATABASES['default']['ENGINE']", "CELERY_TASK_ALWAYS_EAGER", "DEBUG"
    )
    assert engine == "django.db.backends.sqlite3"
    assert (eager, debug) == ("True", "True")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DJANGO_DEBUG": "false", "ALLOWED_HOSTS": "hub.example.com"}, "SECRET_KEY"),
        ({"DJANGO_DEBUG": "false", "SECRET_KEY": PROD_SECRET}, "ALLOWED_HOSTS"),
        ({"DJANGO_DEBUG": "false", "SECRET_KEY": "short", "ALLOWED_HOSTS": "h"}, "SECRET_KEY"),
    ],
    ids=["no-secret", "no-hosts", "weak-secret"],
)
def test_production_refuses_to_start_without_its_secrets(env, named):
    result = _run(env, "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and named in result.stderr


def test_production_reads_database_and_broker_urls_and_passes_deploy_check():
    env = {
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": PROD_SECRET,
        "ALLOWED_HOSTS": "hub.example.com",
        "DATABASE_URL": "postgres://hub:pw@db.internal:5432/usagehub",
        "CELERY_BROKER_URL": "redis://cache.internal:6379/1",
    }
    engine, broker, eager = _print_settings(
        env, "DATABASES['default']['ENGINE']", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"
    )
    assert engine == "django.db.backends.postgresql"
    assert (broker, eager) == ("redis://cache.internal:6379/1", "False")
    result = _run(env, "check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("setting", "threshold"),
    [
        ({}, "5"),
        ({"DATABASE_PREPARED_STATEMENTS": "false"}, "None"),  # behind a pooler
        ({"DATABASE_CONN_MAX_AGE": "0"}, "None"),  # a statement would be prepared for one use
    ],
    ids=["default", "turned-off", "connections-not-kept"],
)
def test_prepared_statements_only_where_they_pay(setting, threshold):
    env = {"DATABASE_URL": "postgres://hub:pw@db.internal:5432/usagehub", **setting}
    [printed] = _print_settings(env, "DATABASES['default']['OPTIONS'].get('prepare_threshold')")
    assert printed == threshold
