"""Customer-shareable success reports: create, revoke, open (every opening logged), and
the report's content — only what the customer may see about themselves.

Left out on purpose: notes, sentiment, health scores and colours, scorecard weights,
override reasons, the seat forecast (a commercial conversation), other accounts.
"""

import datetime as dt
import secrets
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from accounts.models import (
    Account,
    AccountUseCase,
    Objective,
    User,
)
from scoring.models import ScoreSnapshot, SharedReport, SharedReportView
from scoring.pages import score_history, use_case_cards
from usagehub.errors import DomainError

DEFAULT_DAYS = 30
PREVIEW_AGENTS = (
    r"slackbot|slack-imgproxy|facebookexternalhit|twitterbot|linkedinbot|discordbot|"
    r"telegrambot|whatsapp|skypeuripreview|teams|googlebot|bingbot|preview|scanner"
)
MAX_DAYS = 365


def shared_report_create(
    *, account: Account, user: User, expires_on: dt.date, label: str = ""
) -> SharedReport:
    today = timezone.localdate()
    if expires_on < today:
        raise DomainError("Choose an expiry date from today on.", field="expires_on")
    if expires_on > today + dt.timedelta(days=MAX_DAYS):
        raise DomainError(f"A link can live at most {MAX_DAYS} days.", field="expires_on")
    return SharedReport.objects.create(
        account=account,
        token=secrets.token_urlsafe(32),
        label=label.strip(),
        created_by=user,
        expires_on=expires_on,
    )


def shared_report_revoke(*, report: SharedReport, user: User) -> None:
    if report.revoked_at is None:
        report.revoked_at, report.revoked_by = timezone.now(), user
        report.save(update_fields=["revoked_at", "revoked_by"])


def shared_report_open(
    *, token: str, ip: str | None, user_agent: str
) -> tuple[SharedReport, str] | None:
    """The report behind ``token`` and its state (active, expired, revoked), with the
    opening logged either way; None for a token that never existed."""
    report = SharedReport.objects.select_related("account__owner").filter(token=token).first()
    if report is None:
        return None
    state = report.state_on(timezone.localdate())
    SharedReportView.objects.create(
        report=report,
        viewed_at=timezone.now(),
        granted=state == "active",
        ip=ip,
        user_agent=user_agent[:300],
    )
    return report, state


def shared_reports_of(account: Account) -> QuerySet[SharedReport]:
    """An account's links with their view counts, for the account page (one query). Link
    previews (chat apps and mail scanners fetch a pasted link) are logged, not counted."""
    granted = Q(views__granted=True) & ~Q(views__user_agent__iregex=PREVIEW_AGENTS)
    return account.shared_reports.select_related("created_by").annotate(
        view_count=Count("views", filter=granted),
        last_viewed=Max("views__viewed_at", filter=granted),
    )


def shared_report_content(report: SharedReport) -> dict[str, Any]:
    """What the customer sees: use cases with checklists, objectives, utilization trend."""
    account = report.account
    snapshot = ScoreSnapshot.objects.filter(account=account).order_by("-as_of", "-computed_at")
    latest = snapshot.only("objectives", "billable_users", "licensed_seats", "as_of").first()
    progress = {row["id"]: row for row in (latest.objectives if latest else [])}
    objectives = list(
        account.objectives.exclude(  # drafts and dropped plans are the team's business
            status__in=[Objective.Status.DRAFT, Objective.Status.ABANDONED]
        )
        .select_related("use_case")
        .prefetch_related("milestones")
    )
    for objective in objectives:
        objective.progress = progress.get(objective.pk)  # type: ignore[attr-defined]
    history = [
        {k: p[k] for k in ("as_of", "billable_users", "licensed_seats")}
        for p in score_history([account.pk]).get(account.pk, [])
    ]
    return {
        "account": account,
        "report": report,
        "as_of": latest.as_of if latest else None,
        "billable_users": latest.billable_users if latest else None,
        "licensed_seats": latest.licensed_seats if latest else None,
        "use_cases": _use_cases(account),
        "objectives": objectives,
        "history": history,
    }


def _use_cases(account: Account) -> list[dict[str, Any]]:
    """The account page's use-case cards, cut down to what the customer may read: name,
    status and checklist — no colours, measures, metric values or override reasons."""
    not_started = AccountUseCase.Status.NOT_STARTED
    cards = []
    for card in use_case_cards(account, snapshot=None):
        status = card["link"].status if card["link"] else not_started
        if status == AccountUseCase.Status.NOT_APPLICABLE:
            continue
        cards.append(
            {
                "name": card["use_case"].name,
                "description": card["use_case"].description,
                "status": status,
                "status_label": AccountUseCase.Status(status).label,
                "items": [{"title": i["item"].title, "done": i["done"]} for i in card["items"]],
            }
        )
    return cards
