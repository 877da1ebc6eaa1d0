"""The insights page for managers and leaders, and each insight's numbers as CSV."""

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import Account, LifecycleStage, Team, Tier, User
from scoring.insights import INSIGHTS, InsightFilters, book_for
from scoring.views import signed_in
from usagehub.spreadsheet import safe_row


def _teams(user: User) -> list[Team]:
    """The teams a user may filter by: all for an admin, else their own."""
    if user.is_usagehub_admin:
        return list(Team.objects.all())
    return [user.team] if user.team else []


@login_required
def insights(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    filters = InsightFilters.from_query(request.GET)
    book = book_for(user, filters)
    context = {
        "filters": filters,
        "book": book,
        "insights": [build(book) for build in INSIGHTS.values()] if book else [],
        "teams": _teams(user),
        "priorities": Account.Priority.choices,
        "tiers": Tier.choices,
        "lifecycles": LifecycleStage.choices,
        "query": request.GET.urlencode(),
    }
    return render(request, "scoring/insights.html", context)


@login_required
def insight_csv(request: HttpRequest, key: str) -> HttpResponse:
    """Exactly the table under the chart, with the page's filters."""
    build = INSIGHTS.get(key)
    if build is None:
        raise Http404("No such insight.")
    book = book_for(request.user, InsightFilters.from_query(request.GET))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="insight-{key}-{stamp}.csv"'
    if book is not None:  # no scores yet: an empty file
        insight = build(book)
        writer = csv.writer(response)
        writer.writerow(insight.columns)
        writer.writerows(safe_row(row) for row in insight.rows)
    return response
