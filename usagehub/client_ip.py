"""Who sent a request: the peer address, or — behind proxies we were told to trust — the
address those proxies recorded in X-Forwarded-For. Never a header from anyone else: a
client could write any address there."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, unless it is a trusted proxy: then the nearest hop in X-Forwarded-For
    that is not one (the proxies append, so that is the first address they saw)."""
    address = request.META.get("REMOTE_ADDR") or None
    trusted = set(settings.TRUSTED_PROXIES)
    if address not in trusted:
        return address
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed([h.strip() for h in hops if h.strip()]):
        if hop in trusted:
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            return address  # a hop no proxy would write: keep what we know
    return address
