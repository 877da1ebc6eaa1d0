"""Security headers and login throttling.

The content-security policy allows only this site's own scripts and styles (inline style
attributes are allowed for chart widths); the API docs page needs its one inline script.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'{extra}; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
INLINE_SCRIPT_PATHS = ("/api/docs/",)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        extra = " 'unsafe-inline'" if request.path.startswith(INLINE_SCRIPT_PATHS) else ""
        response.headers.setdefault("Content-Security-Policy", POLICY.format(extra=extra))
        return response
