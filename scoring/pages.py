"""Reads behind the CSM pages: each returns what one page shows, in a fixed number of queries."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.access import accounts_visible_to
from accounts.models import (
    Account,
    AccountUseCase,
    ChecklistItem,
    ChecklistProgress,
    Subscription,
    UseCase,
)
from scoring.models import Alert, ScoreSnapshot, UsagePing

STALE_DAYS = 14
HISTORY_WEEKS = 26
SORTS = {
    "name": "name",
    "owner": "owner__username",
    "score": "score",
    "colour": "colour_rank",
    "utilization": "utilization",
    "adoption": "adoption",
    "renewal": "renewal",
    "last_ping": "last_ping",
    "alerts": "open_alerts",
}


@dataclass(frozen=True)
class PortfolioFilters:
    scope: str = "mine"
    owner: str = ""
    team: str = ""
    colour: str = ""
    lifecycle: str = ""
    renewal_days: int | None = None
    stale: bool = False
    q: str = ""
    sort: str = "name"

    @classmethod
    def from_query(cls, query: Any) -> "PortfolioFilters":
        days = query.get("renewal_days", "")
        sort = query.get("sort", "name")
        return cls(
            scope="team" if query.get("scope") == "team" else "mine",
            owner=query.get("owner", "").strip(),
            team=query.get("team", "").strip(),
            colour=query.get("colour", "")
            if query.get("colour") in ("red", "yellow", "green", "none")
            else "",
            lifecycle=query.get("lifecycle", "").strip(),
            renewal_days=int(days) if days.isdigit() else None,
            stale=query.get("stale") == "1",
            q=query.get("q", "").strip()[:100],
            sort=sort if sort.lstrip("-") in SORTS else "name",
        )


def portfolio(user: Any, filters: PortfolioFilters) -> QuerySet[Account]:
    """The accounts a CSM sees, with their latest score, usage, renewal and open alerts."""
    accounts = accounts_visible_to(user)
    if filters.scope == "mine" and not filters.owner and not filters.team:
        accounts = accounts.filter(owner=user)
    latest = ScoreSnapshot.objects.filter(account=OuterRef("pk")).order_by("-as_of", "-computed_at")
    today = timezone.localdate()
    renewal = (
        Subscription.objects.filter(account=OuterRef("pk"), renewal_date__gte=today)
        .order_by("renewal_date")
        .values("renewal_date")[:1]
    )
    open_alerts = (
        Alert.objects.filter(account=OuterRef("pk"))
        .exclude(state=Alert.State.CLOSED)
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    accounts = accounts.select_related("owner__team").annotate(
        score=Subquery(latest.values("overall_score")[:1]),
        colour=Subquery(latest.values("overall_colour")[:1]),
        adoption=Subquery(latest.values("adoption_count")[:1]),
        platform=Subquery(latest.values("platform_adoption")[:1]),
        utilization=F("usage__utilization"),
        last_ping=F("usage__last_ping_at"),
        renewal=Subquery(renewal),
        open_alerts=Subquery(open_alerts),
    )
    return _sorted(_filtered(accounts, filters, today), filters.sort)


def _filtered(
    accounts: QuerySet[Account], f: PortfolioFilters, today: dt.date
) -> QuerySet[Account]:
    if f.owner:
        accounts = accounts.filter(owner__username=f.owner)
    if f.team:
        accounts = accounts.filter(owner__team_id=f.team) if f.team.isdigit() else accounts.none()
    if f.colour == "none":
        accounts = accounts.filter(Q(colour__isnull=True) | Q(colour=""))
    elif f.colour:
        accounts = accounts.filter(colour=f.colour)  # type: ignore[misc]  # an annotation
    if f.lifecycle:
        accounts = accounts.filter(lifecycle_stage=f.lifecycle)
    if f.renewal_days is not None:
        accounts = accounts.filter(renewal__lte=today + dt.timedelta(days=f.renewal_days))  # type: ignore[misc]
    if f.stale:
        cutoff = timezone.now() - dt.timedelta(days=STALE_DAYS)
        accounts = accounts.filter(Q(last_ping__lt=cutoff) | Q(last_ping__isnull=True))
    if f.q:
        accounts = accounts.filter(Q(name__icontains=f.q) | Q(crm_id__icontains=f.q))
    return accounts


def _sorted(accounts: QuerySet[Account], sort: str) -> QuerySet[Account]:
    from django.db.models import Case, IntegerField, Value, When

    descending = sort.startswith("-")
    field = SORTS[sort.lstrip("-")]
    if field == "colour_rank":
        accounts = accounts.annotate(
            colour_rank=Case(
                When(colour="red", then=Value(0)),
                When(colour="yellow", then=Value(1)),
                When(colour="green", then=Value(2)),
                default=Value(3),
                output_field=IntegerField(),
            )
        )
    order = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return accounts.order_by(order, "name", "pk")


def score_history(account_ids: list[int], weeks: int = HISTORY_WEEKS) -> dict[int, list[Any]]:
    """Per account, its snapshots of the last ``weeks`` weeks (one query for a whole page)."""
    since = timezone.localdate() - dt.timedelta(weeks=weeks)
    series: dict[int, list[Any]] = defaultdict(list)
    for row in (
        ScoreSnapshot.objects.filter(account_id__in=account_ids, as_of__gte=since)
        .order_by("as_of", "computed_at")
        .values(
            "account_id",
            "as_of",
            "overall_score",
            "overall_colour",
            "utilization",
            "licensed_seats",
            "billable_users",
        )
    ):
        points = series[row["account_id"]]
        if points and points[-1]["as_of"] == row["as_of"]:
            points[-1] = row  # the newest computation of a day wins
        else:
            points.append(row)
    return series


def trend(points: list[dict[str, Any]]) -> str:
    """up, down or flat: the latest score against the one about four weeks before."""
    scored = [p for p in points if p["overall_score"] is not None]
    if len(scored) < 2:
        return "flat"
    latest = scored[-1]
    month_ago = next(
        (p for p in reversed(scored) if (latest["as_of"] - p["as_of"]).days >= 28), scored[0]
    )
    delta = latest["overall_score"] - month_ago["overall_score"]
    return "up" if delta >= 2 else "down" if delta <= -2 else "flat"


def account_page(account: Account) -> dict[str, Any]:
    """Everything the account page shows, in a fixed number of queries."""
    snapshot = (
        ScoreSnapshot.objects.filter(account=account)
        .select_related("scorecard")
        .order_by("-as_of", "-computed_at")
        .first()
    )
    latest_ping = UsagePing.objects.filter(instance=OuterRef("pk")).order_by("-recorded_at")
    objectives = list(
        account.objectives.select_related("use_case", "owner").prefetch_related("milestones")
    )
    progress = {row["id"]: row for row in (snapshot.objectives if snapshot else [])}
    for objective in objectives:
        objective.progress = progress.get(objective.pk)  # type: ignore[attr-defined]
    return {
        "snapshot": snapshot,
        "history": score_history([account.pk]).get(account.pk, []),
        "subscriptions": list(account.subscriptions.all()),
        "instances": list(
            account.instances.select_related("subscription").annotate(
                last_ping=Subquery(latest_ping.values("recorded_at")[:1])
            )
        ),
        "use_cases": use_case_cards(account, snapshot),
        "open_objectives": [o for o in objectives if not o.is_closed],
        "closed_objectives": [o for o in objectives if o.is_closed],
        "timeline": list(
            account.activities.select_related("author").prefetch_related("personas")[:60]
        ),
        "alerts": list(account.alerts.exclude(state=Alert.State.CLOSED)),
        "renewal": min(
            (
                s.renewal_date
                for s in account.subscriptions.all()
                if s.renewal_date >= timezone.localdate()
            ),
            default=None,
        ),
    }


def use_case_cards(account: Account, snapshot: ScoreSnapshot | None) -> list[dict[str, Any]]:
    use_cases = list(UseCase.objects.filter(is_active=True))
    links = {
        link.use_case_id: link
        for link in AccountUseCase.objects.filter(account=account).select_related("updated_by")
    }
    items = defaultdict(list)
    for item in ChecklistItem.objects.filter(use_case__in=use_cases):
        items[item.use_case_id].append(item)
    done = set(
        ChecklistProgress.objects.filter(account_use_case__account=account, done=True).values_list(
            "item_id", flat=True
        )
    )
    lines = {line["key"]: line for line in (snapshot.ledger if snapshot else [])}
    metrics = (
        getattr(account, "usage", None).metrics  # type: ignore[union-attr]
        if hasattr(account, "usage")
        else {}
    )
    return [
        {
            "use_case": uc,
            "link": links.get(uc.pk),
            "line": lines.get(uc.key),
            "measures": [line for line in lines.values() if line.get("use_case") == uc.key],
            "items": [
                {
                    "item": item,
                    "done": item.pk in done,
                    "value": metrics.get(item.metric_key_path) if item.metric_key_path else None,
                }
                for item in items[uc.pk]
            ],
        }
        for uc in use_cases
    ]


def adoption_heatmap(user: Any) -> tuple[list[UseCase], list[dict[str, Any]]]:
    """Accounts × use cases for the user's team: colour and status per cell."""
    use_cases = list(UseCase.objects.filter(is_active=True))
    accounts = list(accounts_visible_to(user).select_related("owner").order_by("name"))
    links: dict[int, dict[int, AccountUseCase]] = defaultdict(dict)
    for link in AccountUseCase.objects.filter(account__in=accounts):
        links[link.account_id][link.use_case_id] = link
    latest = {}
    for snapshot in (
        ScoreSnapshot.objects.filter(
            account__in=accounts, as_of__gte=timezone.localdate() - dt.timedelta(days=7)
        )
        .order_by("as_of", "computed_at")
        .only("account_id", "use_cases")
    ):
        latest[snapshot.account_id] = snapshot.use_cases
    rows = [
        {
            "account": account,
            "cells": [
                {
                    "colour": latest.get(account.pk, {}).get(uc.key),
                    "link": links[account.pk].get(uc.pk),
                }
                for uc in use_cases
            ],
        }
        for account in accounts
    ]
    return use_cases, rows


def alerts_inbox(user: Any, *, scope: str = "mine") -> QuerySet[Alert]:
    accounts = accounts_visible_to(user)
    if scope != "team":
        accounts = accounts.filter(owner=user)
    return (
        Alert.objects.filter(account__in=accounts)
        .exclude(state=Alert.State.CLOSED)
        .select_related("account__owner")
        .order_by("-opened_at")
    )
