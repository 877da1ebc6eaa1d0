"""Sign-in with throttling against password guessing: after ``MAX_FAILURES`` wrong
passwords for one username from one address, that pair waits ``LOCKOUT_SECONDS``."""

from typing import Any

from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from usagehub.client_ip import client_ip

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60


def _key(request: HttpRequest) -> str:
    username = str(request.POST.get("username", "")).strip().lower()[:150]
    address = client_ip(request) or ""
    return f"login-failures:{address}:{username}"


class ThrottledLoginView(LoginView):
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if cache.get(_key(request), 0) >= MAX_FAILURES:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, "Too many failed sign-ins. Wait 15 minutes and try again.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        key = _key(self.request)
        cache.add(key, 0, LOCKOUT_SECONDS)
        cache.incr(key)
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        cache.delete(_key(self.request))
        return super().form_valid(form)
