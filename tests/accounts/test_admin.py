"""Every admin page renders for an admin, and change lists cost the same for any book size."""

import datetime as dt

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.api_keys import api_key_create
from accounts.models import (
    AccountUseCase,
    Activity,
    ChecklistProgress,
    Milestone,
    Persona,
    UseCase,
)
from tests.factories import (
    AccountFactory,
    InstanceFactory,
    NoteFactory,
    ObjectiveFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [m for m in admin.site._registry if m._meta.app_label == "accounts"]


def _book(size: int) -> None:
    """``size`` accounts, each with one of everything the admin lists."""
    personas = list(Persona.objects.all()[:2])
    for _ in range(size):
        account = AccountFactory.create(owner=UserFactory.create())
        api_key_create(name="sync", scopes=["read"], user=account.owner)
        subscription = SubscriptionFactory.create(account=account)
        InstanceFactory.create(account=account, subscription=subscription)
        objective = ObjectiveFactory.create(account=account, owner=account.owner)
        Milestone.objects.create(objective=objective, title="Pilot")
        NoteFactory.create(account=account, author=account.owner)
        meeting = Activity.objects.create(
            account=account, kind="meeting", occurred_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
        )
        meeting.personas.set(personas)
        for use_case in UseCase.objects.all():
            link = AccountUseCase.objects.create(account=account, use_case=use_case)
            ChecklistProgress.objects.create(
                account_use_case=link, item=use_case.checklist_items.all()[0], done=True
            )


def _changelist_queries(client, model) -> int:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_change_list_query_count_does_not_grow_with_rows(client, admin_user, model):
    client.force_login(admin_user)
    _book(2)
    small = _changelist_queries(client, model)
    _book(6)
    assert _changelist_queries(client, model) == small
    assert small <= 12


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_add_and_change_forms_render(client, admin_user, model, django_assert_max_num_queries):
    client.force_login(admin_user)
    _book(2)
    opts = model._meta
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200
    obj = model._default_manager.order_by("pk").first()
    with django_assert_max_num_queries(40):
        response = client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        )
    assert response.status_code == 200


def test_admin_search_finds_an_account_by_crm_id(client, admin_user):
    client.force_login(admin_user)
    AccountFactory(name="Findable Ltd", crm_id="0015g00000FINDME01")
    response = client.get(reverse("admin:accounts_account_changelist"), {"q": "FINDME01"})
    assert b"Findable Ltd" in response.content


def test_staff_outsider_sees_no_other_teams_accounts_in_admin(client, outsider, account):
    outsider.is_staff = True
    outsider.is_superuser = True  # model permissions, but still a CSM of another team
    outsider.role = "csm"
    outsider.save()
    client.force_login(outsider)
    # A superuser is an admin by definition; a plain staff CSM is the case that matters.
    outsider.is_superuser = False
    outsider.save()
    from django.contrib.auth.models import Permission

    outsider.user_permissions.set(Permission.objects.filter(codename="view_account"))
    response = client.get(reverse("admin:accounts_account_changelist"))
    assert response.status_code == 200
    assert b"Acme Bank" not in response.content
    change = reverse("admin:accounts_account_change", args=[account.pk])
    assert client.get(change).status_code in (302, 404)


def test_an_api_key_created_in_the_admin_is_shown_once_and_stored_hashed(client, admin_user):
    from accounts.api_keys import api_key_check
    from accounts.models import ApiKey

    client.force_login(admin_user)
    response = client.post(
        reverse("admin:accounts_apikey_add"),
        {"name": "CRM sync", "scopes": ["read", "write"], "user": ""},
        follow=True,
    )
    shown = next(str(m) for m in response.context["messages"]).rsplit(" ", 1)[-1]
    key = ApiKey.objects.get()
    assert key.scopes == ["read", "write"]
    assert shown not in key.key_hash
    assert api_key_check(shown) == key


def test_revoking_a_key_in_the_admin_stops_it(client, admin_user):
    from accounts.api_keys import api_key_check

    key, raw = api_key_create(name="old", scopes=["ingest"])
    client.force_login(admin_user)
    client.post(
        reverse("admin:accounts_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    assert api_key_check(raw) is None
