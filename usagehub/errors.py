"""The one domain error type. Services raise it; interfaces map it to HTTP."""

from typing import Literal

ErrorCode = Literal[
    "invalid",
    "not_found",
    "conflict",
    "length_required",
    "too_large",
    "unsupported",
    "server",
    "unavailable",
]

HTTP_STATUS: dict[str, int] = {
    "invalid": 400,
    "not_found": 404,
    "conflict": 409,
    "length_required": 411,
    "too_large": 413,
    "unsupported": 415,
    "server": 500,
    "unavailable": 503,
}


class DomainError(Exception):
    """A rule of the domain was broken; ``field`` names where (a dotted path), if anywhere."""

    def __init__(self, message: str, *, field: str | None = None, code: ErrorCode = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "code": self.code, "message": self.message}
