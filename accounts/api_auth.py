"""DRF authentication by API key (``Authorization: Api-Key <key>``) and scope permissions."""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from accounts.access import account_get_for_user, accounts_visible_to
from accounts.api_keys import api_key_check
from accounts.models import Account, ApiKey

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``request.auth`` is the ApiKey; ``request.user`` is the user it acts for, if any."""

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        keyword, _, raw_key = header.partition(" ")
        if keyword != KEYWORD:
            return None
        key = api_key_check(raw_key.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        return (key.user or AnonymousUser(), key)

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


def scope_required(scope: str) -> type[permissions.BasePermission]:
    """A permission class admitting API keys that carry ``scope``."""

    class HasScope(permissions.BasePermission):
        message = f"This API key lacks the '{scope}' scope."

        def has_permission(self, request: Request, view: Any) -> bool:
            key = request.auth
            return isinstance(key, ApiKey) and scope in key.scopes

    HasScope.__name__ = f"Has{scope.title()}Scope"
    return HasScope


def acting_user(request: Request) -> Any:
    """The user whose access rules apply, or None for a service key (every account)."""
    key = request.auth
    if isinstance(key, ApiKey):
        return key.user
    return request.user


class IdCursorPagination(CursorPagination):
    """Stable pages over large books: a cursor, not an offset."""

    ordering = "pk"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class ReadWriteScope(permissions.BasePermission):
    """API keys need ``read`` to read and ``write`` to change; a signed-in user needs a session."""

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if isinstance(key, ApiKey):
            needed = "read" if request.method in permissions.SAFE_METHODS else "write"
            if needed not in key.scopes:
                self.message = f"This API key lacks the '{needed}' scope."
                return False
            return True
        return bool(request.user and request.user.is_authenticated)


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per key (or per signed-in user), so one integration cannot starve others."""

    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AccountAPIView(GenericAPIView):
    """Base of the integration API: key or session auth, scopes, throttling, cursor pages,
    and account access through the one access helper."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [ReadWriteScope]
    throttle_classes = [ApiKeyRateThrottle]
    pagination_class = IdCursorPagination

    def visible_accounts(self) -> QuerySet[Account]:
        user = acting_user(self.request)
        return Account.objects.all() if user is None else accounts_visible_to(user)

    def account(self, pk: Any, *, for_edit: bool = False) -> Account:
        user = acting_user(self.request)
        if user is None:
            try:
                return Account.objects.get(pk=int(pk))
            except (Account.DoesNotExist, ValueError, TypeError) as exc:
                raise Http404("No such account.") from exc
        return account_get_for_user(user, pk, for_edit=for_edit)

    def after_write(self, account: Account) -> None:
        """Hook for writes that change an account's score (the scoring app marks it)."""


class ApiKeySchema(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Api-Key <key>`` in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; create keys in the admin or with "
            "`manage.py create_api_key`.",
        }
