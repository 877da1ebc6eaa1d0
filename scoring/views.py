"""CSM pages. Each view: parse input, check access (one helper), call a selector or a
service, render. Writes answer with a redirect; invalid forms re-render with the errors
and what the user typed (HTTP 400)."""

import csv
import datetime as dt
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import services
from accounts.access import account_get_for_user, accounts_editable_by, can_edit_account
from accounts.models import Account, AccountUseCase, ChecklistItem, Objective, Team, User
from scoring import pages
from scoring.alerts import alert_handle as alert_handle_service
from scoring.forms import ActivityForm, AlertForm, ObjectiveCloseForm, ObjectiveForm, OverrideForm
from scoring.models import Alert
from scoring.recompute import recompute_mark
from scoring.sharing import DEFAULT_DAYS, shared_reports_of
from usagehub.errors import DomainError
from usagehub.spreadsheet import safe_row

PAGE_SIZE = 50
CSV_COLUMNS = [
    "name",
    "crm_id",
    "owner",
    "colour",
    "score",
    "utilization_pct",
    "adoption",
    "platform",
    "renewal",
    "last_ping",
    "open_alerts",
    "lifecycle",
]


def signed_in(request: HttpRequest) -> User:
    return cast(User, request.user)  # every view here is behind login_required


@login_required
def portfolio(request: HttpRequest) -> HttpResponse:
    filters = pages.PortfolioFilters.from_query(request.GET)
    page = Paginator(pages.portfolio(request.user, filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    history = pages.score_history([a.pk for a in page.object_list])
    rows = [
        {
            "account": a,
            "history": history.get(a.pk, []),
            "trend": pages.trend(history.get(a.pk, [])),
        }
        for a in page.object_list
    ]
    context = {
        "page": page,
        "rows": rows,
        "filters": filters,
        "query": request.GET.urlencode(),
        "owners": User.objects.filter(owned_accounts__isnull=False).distinct().order_by("username"),
        "teams": Team.objects.all(),
        "lifecycles": Account.Lifecycle.choices,
    }
    return render(request, "scoring/portfolio.html", context)


@login_required
def portfolio_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Exactly the rows the filters show, all of them, not one page."""
    accounts: Any = pages.portfolio(request.user, pages.PortfolioFilters.from_query(request.GET))

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())

    def rows() -> Any:
        yield writer.writerow(CSV_COLUMNS)
        for a in accounts.iterator(chunk_size=500):
            yield writer.writerow(
                safe_row(
                    [
                        a.name,
                        a.crm_id,
                        a.owner.username if a.owner else "",
                        a.colour or "",
                        "" if a.score is None else a.score,
                        "" if a.utilization is None else round(a.utilization * 100, 1),
                        a.adoption if a.adoption is not None else "",
                        "yes" if a.platform else "no",
                        a.renewal or "",
                        a.last_ping.date() if a.last_ping else "",
                        a.open_alerts or 0,
                        a.lifecycle_stage,
                    ]
                )
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="portfolio-{stamp}.csv"'
    return response


def _account_context(request: HttpRequest, account: Account, **forms: Any) -> dict[str, Any]:
    return {
        "account": account,
        "can_edit": can_edit_account(request.user, account),
        "activity_form": forms.get("activity_form") or ActivityForm(auto_id="activity_%s"),
        "objective_form": forms.get("objective_form") or ObjectiveForm(),
        "close_form": ObjectiveCloseForm(auto_id=False),  # one per objective: no ids
        "override_form": OverrideForm(auto_id=False),  # one per use case: no ids
        "today": timezone.localdate(),
        "shared_reports": list(shared_reports_of(account)),
        "report_default_expiry": timezone.localdate() + dt.timedelta(days=DEFAULT_DAYS),
        "close_errors": forms.get("close_errors"),
        "override_errors": forms.get("override_errors"),
        **pages.account_page(account),
    }


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_get_for_user(request.user, pk)
    return render(request, "scoring/account.html", _account_context(request, account))


def _invalid(request: HttpRequest, account: Account, **forms: Any) -> HttpResponse:
    messages.error(request, "Please correct the errors below.")
    return render(
        request, "scoring/account.html", _account_context(request, account, **forms), status=400
    )


@require_POST
@login_required
def activity_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_get_for_user(request.user, pk, for_edit=True)
    form = ActivityForm(request.POST, auto_id="activity_%s")
    if not form.is_valid():
        return _invalid(request, account, activity_form=form)
    data = form.cleaned_data
    with transaction.atomic():
        services.activity_record(
            account=account,
            kind=data["kind"],
            author=signed_in(request),
            body=data["body"],
            sentiment=data["sentiment"] or "",
            ticket_count=data["ticket_count"],
            personas=list(data["personas"]),
        )
        recompute_mark(account_ids=[account.pk])
    messages.success(request, "Added to the timeline; health is being recomputed.")
    return redirect("account-detail", pk=account.pk)


@require_POST
@login_required
def checklist_tick(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    account = account_get_for_user(request.user, pk, for_edit=True)
    item = get_object_or_404(ChecklistItem, pk=item_id)
    link, _ = AccountUseCase.objects.get_or_create(account=account, use_case=item.use_case)
    try:
        services.checklist_tick(
            link=link, item=item, done=request.POST.get("done") == "1", user=signed_in(request)
        )
    except DomainError as error:
        messages.error(request, error.message)
    return redirect(f"/accounts/{account.pk}/#use-case-{item.use_case.key}")


@require_POST
@login_required
def use_case_override(request: HttpRequest, pk: int, use_case_id: int) -> HttpResponse:
    account = account_get_for_user(request.user, pk, for_edit=True)
    link = get_object_or_404(AccountUseCase, account=account, use_case_id=use_case_id)
    form = OverrideForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError("Choose a status.", field="status")
        services.use_case_override(
            link=link,
            status=form.cleaned_data["status"],
            reason=form.cleaned_data["reason"],
            user=signed_in(request),
        )
    except DomainError as error:
        return _invalid(request, account, override_errors={use_case_id: error.message})
    messages.success(request, f"{link.use_case} status updated.")
    return redirect("account-detail", pk=account.pk)


@require_POST
@login_required
def objective_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_get_for_user(request.user, pk, for_edit=True)
    form = ObjectiveForm(request.POST)
    if not form.is_valid():
        return _invalid(request, account, objective_form=form)
    try:
        services.objective_create(account=account, owner=signed_in(request), **form.cleaned_data)
    except DomainError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return _invalid(request, account, objective_form=form)
    recompute_mark(account_ids=[account.pk])
    messages.success(request, "Objective added.")
    return redirect("account-detail", pk=account.pk)


@require_POST
@login_required
def objective_close(request: HttpRequest, pk: int, objective_id: int) -> HttpResponse:
    account = account_get_for_user(request.user, pk, for_edit=True)
    objective = get_object_or_404(Objective, pk=objective_id, account=account)
    form = ObjectiveCloseForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(
                "Choose how it ended and write the outcome summary.", field="outcome_summary"
            )
        services.objective_close(objective=objective, **form.cleaned_data)
    except DomainError as error:
        return _invalid(request, account, close_errors={objective_id: error.message})
    recompute_mark(account_ids=[account.pk])
    messages.success(request, f"“{objective}” closed as {objective.get_status_display()}.")
    return redirect("account-detail", pk=account.pk)


@login_required
def adoption(request: HttpRequest) -> HttpResponse:
    use_cases, rows = pages.adoption_heatmap(request.user)
    return render(request, "scoring/adoption.html", {"use_cases": use_cases, "rows": rows})


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    scope = "team" if request.GET.get("scope") == "team" else "mine"
    inbox = pages.alerts_inbox(request.user, scope=scope)
    editable = set(accounts_editable_by(request.user).values_list("pk", flat=True))
    return render(
        request,
        "scoring/alerts.html",
        {"alerts": inbox[:200], "scope": scope, "editable": editable},
    )


@require_POST
@login_required
def alert_handle(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.select_related("account"), pk=alert_id)
    account_get_for_user(request.user, alert.account_id, for_edit=True)
    form = AlertForm(request.POST)
    if form.is_valid():
        alert_handle_service(
            alert=alert,
            close=form.cleaned_data["action"] == "close",
            note=form.cleaned_data["note"],
            user=signed_in(request),
        )
        messages.success(request, f"Alert {alert.get_state_display().lower()}.")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("alerts")
