"""Issuing and checking API keys. Only a SHA-256 of each key is stored.

Keys carry 256 bits of randomness, so a plain (fast) hash is safe: there is
nothing to brute-force, unlike a password.
"""

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ApiKey, User
from usagehub.errors import DomainError

KEY_PREFIX = "uh_"
LAST_USED_RESOLUTION_SECONDS = 60


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(
    *, name: str, scopes: Iterable[str], user: User | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw secret, which is shown once and never stored."""
    scopes = sorted(set(scopes))
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if unknown or not scopes:
        raise DomainError(
            f"Scopes must be some of: {', '.join(ApiKey.Scope.values)}.", field="scopes"
        )
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name, prefix=prefix, key_hash=_digest(raw_key), scopes=scopes, user=user
    )
    return key, raw_key


CACHE_SECONDS = 10  # a revoked key stops within this long on every process
_recent: dict[str, tuple[float, ApiKey | None]] = {}


def _lookup(prefix: str) -> ApiKey | None:
    """The key with this prefix, remembered briefly: integrations call many times a second."""
    now = time.monotonic()
    cached = _recent.get(prefix)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    if len(_recent) > 10_000:
        _recent.clear()
    _recent[prefix] = (now, key)
    return key


def api_key_check(raw_key: str) -> ApiKey | None:
    """The active key ``raw_key`` names, or None. Records when it was last used (coarsely)."""
    parts = raw_key.split("_")
    if len(parts) < 3 or not raw_key.startswith(KEY_PREFIX):
        return None
    key = _lookup(parts[1])
    if key is None or not key.is_active or not hmac.compare_digest(key.key_hash, _digest(raw_key)):
        return None
    if key.user is not None and not key.user.is_active:
        return None  # a departed user's keys stop with their account
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > (
        LAST_USED_RESOLUTION_SECONDS
    ):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_keys_revoke(*, keys: QuerySet[ApiKey]) -> int:
    """Revoke keys now; this process forgets them at once, the others within CACHE_SECONDS."""
    count = keys.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    _recent.clear()
    return count
