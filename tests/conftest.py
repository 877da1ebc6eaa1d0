"""The fixed cast every test can call on (healthchecks' alice/bob/charlie habit).

``owner`` owns ``account``; ``teammate`` is another CSM on the same team;
``manager`` manages that team; ``outsider`` is a CSM on another team;
``admin_user`` is a UsageHub admin.
"""

import pytest
from django.db import connection

from accounts.models import Account, User
from tests.factories import AccountFactory, TeamFactory, UserFactory


@pytest.fixture
def team():
    return TeamFactory.create(name="Enterprise East")


@pytest.fixture
def owner(team) -> User:
    return UserFactory.create(username="alice", team=team)


@pytest.fixture
def teammate(team) -> User:
    return UserFactory.create(username="bob", team=team)


@pytest.fixture
def manager(team) -> User:
    return UserFactory.create(username="erin", team=team, role=User.Role.MANAGER)


@pytest.fixture
def outsider() -> User:
    return UserFactory.create(username="charlie", team=TeamFactory.create(name="Commercial"))


@pytest.fixture
def admin_user() -> User:
    return UserFactory.create(
        username="ada", team=None, role=User.Role.ADMIN, is_staff=True, is_superuser=True
    )


@pytest.fixture
def account(owner) -> Account:
    return AccountFactory.create(name="Acme Bank", owner=owner)


@pytest.fixture
def on_postgres(db) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Hashing strength is Django's concern; tests only need passwords to round-trip."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    """Tests run tasks in-process; the tests about the broker start a real worker themselves."""
    from usagehub.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def service_key(db) -> str:
    """An ingestion collector's key: no user, so it may ingest for any instance."""
    from accounts.api_keys import api_key_create

    return api_key_create(name="collector", scopes=["ingest"])[1]


@pytest.fixture
def api():
    """A DRF test client; pass ``key=`` to a call to send ``Authorization: Api-Key``."""
    from rest_framework.test import APIClient

    class KeyClient(APIClient):
        def post_raw(
            self, path, body: bytes, *, key=None, content_type="application/json", **extra
        ):
            if key:
                extra["HTTP_AUTHORIZATION"] = f"Api-Key {key}"
            return self.generic("POST", path, body, content_type=content_type, **extra)  # type: ignore[arg-type]

    return KeyClient()


SEED_MIGRATIONS = [
    "accounts.migrations.0002_seed_use_cases_and_personas",
    "scoring.migrations.0002_seed_rubric_metrics",
    "scoring.migrations.0004_seed_default_scorecard",
]


@pytest.fixture(autouse=True)
def _seeded_defaults(request):
    """Transactional tests flush tables, data migrations' defaults included: re-seed them."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")):
        return
    import importlib

    from django.apps import apps

    for name in SEED_MIGRATIONS:
        importlib.import_module(name).seed(apps, None)
