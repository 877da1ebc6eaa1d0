"""Login, portfolio and account page as each member of the cast sees them."""

import pytest
from django.urls import reverse

from tests.factories import (
    AccountFactory,
    InstanceFactory,
    NoteFactory,
    ObjectiveFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_login(client, account):
    for url in (reverse("portfolio"), reverse("account-detail", args=[account.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_login_page_renders_and_signs_in(client, owner):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login"), {"username": "alice", "password": "correct horse battery"}
    )
    assert response.status_code == 302 and response.url == reverse("portfolio")


def test_wrong_password_keeps_username_and_says_why(client, owner):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content
    assert b'value="alice"' in response.content


def test_logout_is_a_post(client, owner):
    client.force_login(owner)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("portfolio")).status_code == 302


def test_portfolio_lists_my_accounts_and_team_on_request(
    client, owner, teammate, outsider, account
):
    AccountFactory(name="Teammate Co", owner=teammate)
    AccountFactory(name="Stranger Inc", owner=outsider)
    client.force_login(owner)
    mine = client.get(reverse("portfolio")).content.decode()
    assert "Acme Bank" in mine and "Teammate Co" not in mine and "Stranger Inc" not in mine
    team = client.get(reverse("portfolio"), {"scope": "team"}).content.decode()
    assert "Acme Bank" in team and "Teammate Co" in team and "Stranger Inc" not in team


def test_portfolio_sums_seats_and_arr_over_subscriptions(client, owner, account):
    SubscriptionFactory(account=account, licensed_seats=100, arr=1000)
    SubscriptionFactory(account=account, licensed_seats=250, arr=2500)
    client.force_login(owner)
    page = client.get(reverse("portfolio")).content.decode()
    assert ">350<" in page and "$3,500" in page


def test_portfolio_query_count_does_not_grow_with_accounts(
    client, owner, django_assert_max_num_queries
):
    client.force_login(owner)
    for _ in range(30):
        account = AccountFactory(owner=owner)
        SubscriptionFactory(account=account)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("portfolio"), {"scope": "team"}).status_code == 200


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 200), ("teammate", 200), ("manager", 200), ("outsider", 404), ("admin_user", 200)],
)
def test_account_page_follows_the_role_rules(client, request, account, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("account-detail", args=[account.pk])).status_code == status


def test_account_page_shows_its_parts_in_bounded_queries(
    client, owner, account, django_assert_max_num_queries
):
    subscription = SubscriptionFactory(account=account)
    for _ in range(5):
        InstanceFactory(account=account, subscription=subscription)
        ObjectiveFactory(account=account)
        NoteFactory(account=account, author=owner)
    client.force_login(owner)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("account-detail", args=[account.pk]))
    page = response.content.decode()
    assert subscription.external_id in page and "Talked about CI." in page
