"""CSM pages. Each view: parse input, check access, call a selector, render."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import account_get_for_user, can_edit_account
from accounts.selectors import account_page, portfolio_accounts

PAGE_SIZE = 50


@login_required
def portfolio(request: HttpRequest) -> HttpResponse:
    scope = "team" if request.GET.get("scope") == "team" else "mine"
    page = Paginator(portfolio_accounts(request.user, scope=scope), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "accounts/portfolio.html", {"page": page, "scope": scope})


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_get_for_user(request.user, pk)
    context = {
        "account": account,
        "can_edit": can_edit_account(request.user, account),
        **account_page(account),
    }
    return render(request, "accounts/account_detail.html", context)
