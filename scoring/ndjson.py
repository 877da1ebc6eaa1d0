"""Reading payloads off the wire and off disk, streaming, with every size limit enforced.

Shared by the API (one body or an NDJSON batch) and ``manage.py ingest_pings``, so a
1 GB file or a chunked upload is read line by line and memory stays flat.
"""

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, cast

from django.http import HttpRequest

from scoring.payload import gunzip
from usagehub.errors import DomainError

Line = tuple[int, bytes | DomainError]


class Readable(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


READ_ERRORS = (OSError, EOFError, zlib.error)


def _encoding(request: HttpRequest) -> str:
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "identity").strip().lower()
    if encoding not in ("identity", "gzip", ""):
        raise DomainError(
            f"Content-Encoding {encoding!r} is not supported; send gzip or nothing.",
            code="unsupported",
        )
    return encoding


def _declared_length(request: HttpRequest, max_bytes: int) -> None:
    if not request.META.get("CONTENT_LENGTH") and request.META.get("HTTP_TRANSFER_ENCODING"):
        # Django reads a body without Content-Length as empty: refuse, do not misread it.
        raise DomainError("Send the body with a Content-Length header.", code="length_required")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise DomainError("Content-Length is not a number.") from exc
    if length > max_bytes:
        raise DomainError(f"The body is larger than {max_bytes} bytes.", code="too_large")


def read_body(request: HttpRequest, *, max_bytes: int) -> bytes:
    """The whole (inflated) body of a one-payload request, refusing oversize early."""
    encoding = _encoding(request)
    _declared_length(request, max_bytes)
    raw = request.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise DomainError(f"The body is larger than {max_bytes} bytes.", code="too_large")
    return gunzip(raw, max_bytes=max_bytes) if encoding == "gzip" else raw


def body_lines(
    request: HttpRequest, *, max_line_bytes: int, max_total_bytes: int, max_lines: int
) -> Iterator[Line]:
    """The lines of an NDJSON request body, inflating gzip as it streams."""
    encoding = _encoding(request)
    _declared_length(request, max_total_bytes)
    stream = cast(Readable, request)  # HttpRequest reads like a file
    if encoding == "gzip":
        stream = gzip.GzipFile(fileobj=cast(Any, request), mode="rb")
    return iter_lines(
        stream, max_line_bytes=max_line_bytes, max_total_bytes=max_total_bytes, max_lines=max_lines
    )


def iter_lines(
    stream: Readable,
    *,
    max_line_bytes: int,
    max_total_bytes: int | None = None,
    max_lines: int | None = None,
) -> Iterator[Line]:
    """Numbered non-blank lines; an overlong line becomes an error and is skipped whole."""
    total = 0
    number = 0
    while True:
        number += 1
        try:
            line = stream.readline(max_line_bytes + 1)
        except READ_ERRORS as exc:
            yield number, DomainError(f"Cannot read past this line: {exc}.")
            return
        if not line:
            return
        if max_lines is not None and number > max_lines:
            yield (
                number,
                DomainError(
                    f"The batch has more than {max_lines} lines; stopped reading here.",
                    code="too_large",
                ),
            )
            return
        total += len(line)
        if max_total_bytes is not None and total > max_total_bytes:
            yield (
                number,
                DomainError(
                    f"The batch is larger than {max_total_bytes} bytes; stopped reading here.",
                    code="too_large",
                ),
            )
            return
        if len(line) > max_line_bytes and not line.endswith(b"\n"):
            yield (
                number,
                DomainError(
                    f"The payload is larger than {max_line_bytes} bytes.", code="too_large"
                ),
            )
            budget = None if max_total_bytes is None else max_total_bytes - total
            total += _skip_rest_of_line(stream, max_line_bytes, budget)
            if max_total_bytes is not None and total > max_total_bytes:
                return  # the line's own error says it was too large; nothing follows
            continue
        if line.strip():
            yield number, line


def _skip_rest_of_line(stream: Readable, chunk: int, budget: int | None) -> int:
    """Read past the rest of an overlong line; stop at the batch budget (a one-line bomb)."""
    skipped = 0
    while budget is None or skipped <= budget:
        part = stream.readline(chunk)
        skipped += len(part)
        if not part or part.endswith(b"\n"):
            return skipped
    return skipped


def file_lines(path: Path, *, max_line_bytes: int) -> Iterator[Line]:
    """Payloads in a .json, .ndjson or gzip'd file: a .json file is one payload."""
    zipped = path.suffix.lower() == ".gz"
    opener = gzip.open if zipped else open
    inner = path.with_suffix("") if zipped else path
    with opener(path, "rb") as stream:
        if inner.suffix.lower() == ".json":
            try:
                raw = stream.read(max_line_bytes + 1)
            except READ_ERRORS as exc:
                yield 1, DomainError(f"Cannot read the file: {exc}.")
                return
            if len(raw) > max_line_bytes:
                yield (
                    1,
                    DomainError(
                        f"The payload is larger than {max_line_bytes} bytes.", code="too_large"
                    ),
                )
            else:
                yield 1, raw
            return
        yield from iter_lines(stream, max_line_bytes=max_line_bytes)
