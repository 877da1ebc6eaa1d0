"""Reads on the CRM side: querysets that already carry what their pages need."""

from typing import Any

from django.db.models import Min, Q, QuerySet, Sum
from django.utils import timezone

from accounts.access import accounts_visible_to
from accounts.models import Account


def portfolio_accounts(user: Any, *, scope: str = "mine") -> QuerySet[Account]:
    """The user's accounts (or their team's) with seats, ARR and next renewal in one query."""
    accounts = accounts_visible_to(user)
    if scope != "team":
        accounts = accounts.filter(owner=user)
    today = timezone.localdate()
    return (
        accounts.select_related("owner")
        .annotate(
            licensed_seats=Sum("subscriptions__licensed_seats"),
            arr=Sum("subscriptions__arr"),
            next_renewal=Min(
                "subscriptions__renewal_date", filter=Q(subscriptions__renewal_date__gte=today)
            ),
        )
        .order_by("name", "pk")
    )


def account_page(account: Account) -> dict[str, Any]:
    """Everything the account page shows, in a fixed number of queries."""
    objectives = list(
        account.objectives.select_related("use_case", "owner").prefetch_related("milestones")
    )
    return {
        "subscriptions": list(account.subscriptions.all()),
        "instances": list(account.instances.select_related("subscription")),
        "open_objectives": [o for o in objectives if not o.is_closed],
        "closed_objectives": [o for o in objectives if o.is_closed],
        "use_cases": list(account.use_cases.select_related("use_case", "updated_by")),
        "activities": list(
            account.activities.select_related("author").prefetch_related("personas")[:50]
        ),
    }
