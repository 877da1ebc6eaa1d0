"""Who sees and edits which account: one helper, the same answer everywhere."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.access import (
    account_get_for_user,
    accounts_editable_by,
    accounts_visible_to,
    can_edit_account,
)

pytestmark = pytest.mark.django_db

CAST = ["owner", "teammate", "manager", "outsider", "admin_user"]
SEES = {"owner": True, "teammate": True, "manager": True, "outsider": False, "admin_user": True}
EDITS = {"owner": True, "teammate": False, "manager": True, "outsider": False, "admin_user": True}


@pytest.mark.parametrize("who", CAST)
def test_visibility_follows_the_team(who, request, account):
    user = request.getfixturevalue(who)
    assert accounts_visible_to(user).filter(pk=account.pk).exists() is SEES[who]


@pytest.mark.parametrize("who", CAST)
def test_editing_is_for_owner_manager_and_admin(who, request, account):
    user = request.getfixturevalue(who)
    assert can_edit_account(user, account) is EDITS[who]
    assert accounts_editable_by(user).filter(pk=account.pk).exists() is EDITS[who]


def test_outsider_gets_404(outsider, account):
    with pytest.raises(Http404):
        account_get_for_user(outsider, account.pk)


def test_teammate_reads_but_cannot_edit(teammate, account):
    assert account_get_for_user(teammate, account.pk) == account
    with pytest.raises(PermissionDenied):
        account_get_for_user(teammate, account.pk, for_edit=True)


def test_anonymous_and_inactive_users_see_nothing(owner, account):
    from django.contrib.auth.models import AnonymousUser

    assert not accounts_visible_to(AnonymousUser()).exists()
    owner.is_active = False
    assert not accounts_visible_to(owner).exists()


def test_csm_without_team_sees_only_own_accounts(owner, account, teammate):
    from tests.factories import AccountFactory

    AccountFactory(owner=teammate)
    owner.team = None
    assert list(accounts_visible_to(owner)) == [account]


@pytest.mark.parametrize("bad_pk", ["abc", None, -1, 10**12])
def test_malformed_or_unknown_ids_are_404(owner, bad_pk):
    with pytest.raises(Http404):
        account_get_for_user(owner, bad_pk)
