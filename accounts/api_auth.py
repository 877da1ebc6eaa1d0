"""DRF authentication by API key (``Authorization: Api-Key <key>``) and scope permissions."""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from accounts.api_keys import api_key_check
from accounts.models import ApiKey

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
