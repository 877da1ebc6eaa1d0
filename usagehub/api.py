"""One error format for the whole API: ``{"errors": [{"field", "code", "message"}]}``."""

import logging
from typing import Any

import orjson
from django import db
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from usagehub.errors import DomainError

logger = logging.getLogger(__name__)


def _flatten(detail: Any, path: str | None = None) -> list[dict[str, str | None]]:
    """Turn DRF's nested error detail into a flat list of field paths and messages."""
    if isinstance(detail, dict):
        return [
            error
            for key, value in detail.items()
            for error in _flatten(
                value,
                None if key == "non_field_errors" else (f"{path}.{key}" if path else str(key)),
            )
        ]
    if isinstance(detail, list):
        return [error for item in detail for error in _flatten(item, path)]
    code = getattr(detail, "code", "invalid")
    return [{"field": path, "code": str(code), "message": str(detail)}]


RETRY_AFTER_SECONDS = 30


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"errors": [exc.as_dict()]}, status=exc.http_status)
    if isinstance(exc, db.DatabaseError) and not isinstance(
        exc, db.OperationalError | db.InterfaceError
    ):
        logger.exception("database error")
        error = DomainError("The server could not store this; it has been logged.", code="server")
        return Response({"errors": [error.as_dict()]}, status=error.http_status)
    if isinstance(exc, db.OperationalError | db.InterfaceError):
        # The database is unreachable: nothing was stored, so tell the client to retry.
        logger.error("database unavailable: %s", exc)
        error = DomainError("The database is unavailable; retry later.", code="unavailable")
        return Response(
            {"errors": [error.as_dict()]},
            status=error.http_status,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    response = drf_exception_handler(exc, context)
    if response is not None:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
        if isinstance(detail, dict) and set(detail) == {"detail"}:
            detail = detail["detail"]
        response.data = {"errors": _flatten(detail)}
    return response


class FastJSONRenderer(JSONRenderer):
    """DRF's JSON renderer on orjson: scores and ledgers are kilobytes of JSON per request."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)
