"""The demo book: realistic, and loading it twice changes nothing."""

import pytest
from django.core import serializers
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Account, Activity, Instance, Objective, Subscription, User

pytestmark = pytest.mark.django_db

MODELS = [User, Account, Subscription, Instance, Objective, Activity]


def _snapshot() -> str:
    return "".join(
        serializers.serialize("json", model._default_manager.order_by("pk"), fields=None)
        for model in MODELS
    )


def test_seed_demo_twice_leaves_the_same_data():
    call_command("seed_demo", stdout=None)
    first = _snapshot()
    call_command("seed_demo")
    assert _snapshot() == first


def test_demo_book_has_teams_csms_accounts_and_scored_usage_history(client):
    call_command("seed_demo")
    assert Account.objects.count() == 60
    assert User.objects.filter(role="csm").count() >= 6
    assert User.objects.filter(role="manager").count() == 3
    assert Subscription.objects.count() >= 60
    assert Instance.objects.filter(instance_type="production").count() == 60
    assert Objective.objects.exists()
    assert Activity.objects.filter(kind="note").exists()
    from scoring.models import Alert, ScoreSnapshot, UsagePing

    assert UsagePing.objects.filter(source="cli").count() > 60 * 20  # 26 weeks, via ingestion
    colours = set(ScoreSnapshot.objects.values_list("overall_colour", flat=True))
    assert {"red", "yellow", "green"} <= colours
    assert ScoreSnapshot.objects.values("as_of").distinct().count() >= 26
    assert Alert.objects.filter(state="open").exists()
    response = client.post(
        reverse("login"), {"username": "alice", "password": "usagehub-demo"}, follow=True
    )
    assert response.status_code == 200
    for account in Account.objects.filter(owner__username="alice"):
        assert account.name in response.content.decode()
