"""Who may see and edit which account. Every page, endpoint, export and admin uses this.

A CSM sees their team's accounts and edits their own; a manager edits the team's;
admins see and edit everything. Anyone else gets 404, so an outsider cannot even
learn that an account exists.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Account, User


def _as_user(user: Any) -> User | None:
    return user if isinstance(user, User) and user.is_active else None


def sees_every_account(user: Any) -> bool:
    """An active admin: ``accounts_visible_to`` is the whole table, no filter needed."""
    person = _as_user(user)
    return person is not None and person.is_usagehub_admin


def accounts_visible_to(user: Any) -> QuerySet[Account]:
    """The accounts ``user`` may read."""
    person = _as_user(user)
    if person is None:
        return Account.objects.none()
    if sees_every_account(person):
        return Account.objects.all()
    if person.team_id is None:
        return Account.objects.filter(owner=person)
    return Account.objects.filter(owner__team_id=person.team_id)


def accounts_editable_by(user: Any) -> QuerySet[Account]:
    """The accounts ``user`` may change."""
    person = _as_user(user)
    if person is None:
        return Account.objects.none()
    if person.is_usagehub_admin:
        return Account.objects.all()
    if person.role == User.Role.MANAGER and person.team_id is not None:
        return Account.objects.filter(owner__team_id=person.team_id)
    return Account.objects.filter(owner=person)


def can_edit_account(user: Any, account: Account) -> bool:
    """In-memory twin of ``accounts_editable_by`` for an account already loaded."""
    person = _as_user(user)
    if person is None:
        return False
    if person.is_usagehub_admin or account.owner_id == person.pk:
        return True
    return (
        person.role == User.Role.MANAGER
        and person.team_id is not None
        and account.owner is not None
        and account.owner.team_id == person.team_id
    )


def account_get_for_user(user: Any, pk: Any, *, for_edit: bool = False) -> Account:
    """The account ``pk`` as ``user`` may have it: 404 when unseen, 403 when read-only."""
    try:
        account = accounts_visible_to(user).select_related("owner__team").get(pk=pk)
    except (Account.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such account.") from exc
    if for_edit and not can_edit_account(user, account):
        raise PermissionDenied("You can see this account but not change it.")
    return account
