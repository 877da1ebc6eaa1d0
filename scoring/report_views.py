"""Shared success reports: CSMs create and revoke links; anyone with a live link reads."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.access import account_get_for_user
from scoring.forms import SharedReportForm
from scoring.models import SharedReport
from scoring.sharing import (
    shared_report_content,
    shared_report_create,
    shared_report_open,
    shared_report_revoke,
)
from scoring.views import signed_in
from usagehub.client_ip import client_ip
from usagehub.errors import DomainError


@require_POST
@login_required
def report_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_get_for_user(request.user, pk, for_edit=True)
    form = SharedReportForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError("Choose an expiry date.", field="expires_on")
        report = shared_report_create(account=account, user=signed_in(request), **form.cleaned_data)
    except DomainError as error:
        messages.error(request, f"Link not created: {error.message}")
    else:
        link = request.build_absolute_uri(reverse("shared-report", args=[report.token]))
        messages.success(request, f"Share this link with the customer: {link}")
    return redirect(f"{reverse('account-detail', args=[account.pk])}#reports")


@require_POST
@login_required
def report_revoke(request: HttpRequest, pk: int, report_id: int) -> HttpResponse:
    account = account_get_for_user(request.user, pk, for_edit=True)
    report = get_object_or_404(SharedReport, pk=report_id, account=account)
    shared_report_revoke(report=report, user=signed_in(request))
    messages.success(request, "Link revoked: it no longer shows anything.")
    return redirect(f"{reverse('account-detail', args=[account.pk])}#reports")


@require_GET
def shared_report(request: HttpRequest, token: str) -> HttpResponse:
    """Public, read-only: no login. Unknown tokens 404; dead links say why, with no data."""
    found = shared_report_open(
        token=token,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    )
    if found is None:
        raise Http404("No such report.")
    report, state = found
    if state == "active":
        response = render(request, "scoring/report.html", shared_report_content(report))
    else:
        response = render(request, "scoring/report_gone.html", {"state": state}, status=410)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
