"""Validate one Service Ping payload: the single place every door's input is checked.

Pure Python, no ORM: bytes in, a ``ValidPing`` or a ``DomainError`` naming the field
path out. One pass over the parsed tree checks depth, counts and strings, so a
~50 KiB payload with ~2,000 counters validates in about a millisecond.
"""

import datetime as dt
import hashlib
import json
import math
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from usagehub.errors import DomainError

LICENSE_FIELDS = {
    "license_user_count": "licensed_seats",
    "license_billable_users": "billable_users",
    "active_user_count": "active_users",
    "historical_max_users": "historical_max_users",
}
TEXT_FIELDS = {  # payload key: (model field, longest accepted)
    "version": ("version", 50),
    "edition": ("edition", 20),
    "license_plan": ("license_plan", 30),
    "license_id": ("license_id", 64),
}
FAILED = -1  # what an installation reports when it could not compute a metric
MAX_IDENTITY_LENGTH = 64
MAX_BIGINT = 2**63 - 1
# orjson reads an integer of 20+ digits as a float, losing digits: any float this large
# may be one, so such a payload is read again by the exact standard library.
INEXACT_FLOAT = 1e19


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 32
    future_tolerance: dt.timedelta = dt.timedelta(days=1)


@dataclass(frozen=True)
class ValidPing:
    instance_uuid: str | None
    namespace_id: str | None
    recorded_at: dt.datetime
    content_hash: str
    payload: dict[str, Any]
    text: str  # canonical JSON of the parsed payload: hashed, and stored as it is
    fields: dict[str, Any]  # version, edition, license fields... under model field names

    @property
    def identity(self) -> tuple[str | None, str | None, dt.datetime]:
        return (self.instance_uuid, self.namespace_id, self.recorded_at)


def gunzip(raw: bytes, *, max_bytes: int) -> bytes:
    """Inflate a gzip body (all its members), refusing (413) anything that inflates past
    ``max_bytes`` and (400) anything that is not gzip to the end."""
    parts: list[bytes] = []
    size = 0
    rest = raw
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        try:
            part = inflater.decompress(rest, max_bytes - size + 1)
        except zlib.error as exc:
            raise DomainError(f"The body is not valid gzip: {exc}.") from exc
        size += len(part)
        if size > max_bytes or inflater.unconsumed_tail:
            raise DomainError(
                f"The payload inflates to more than {max_bytes} bytes.", code="too_large"
            )
        if not inflater.eof:
            raise DomainError("The gzip body is truncated.")
        parts.append(part)
        rest = inflater.unused_data
    return b"".join(parts)


def _reject_constant(name: str) -> None:
    raise DomainError(f"{name} is not a valid JSON number.")


def _loads(raw: bytes, limits: Limits) -> Any:
    """orjson for speed; on any complaint, the standard library says precisely what is wrong."""
    if len(raw) > limits.max_bytes:
        raise DomainError(f"The payload is larger than {limits.max_bytes} bytes.", code="too_large")
    try:
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, UnicodeDecodeError):
        return _loads_explained(raw, limits)


def _loads_explained(raw: bytes, limits: Limits) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DomainError(
            f"The body is not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})."
        ) from exc
    try:
        payload = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise DomainError(
            f"Malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc
    except RecursionError as exc:
        raise DomainError(f"The payload nests deeper than {limits.max_depth} levels.") from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise DomainError(f"A number is out of range: {exc}.") from exc
    _check_tree(payload, limits.max_depth)  # what orjson refused and json took: find it
    return payload


def _is_clean(node: dict[str, Any] | list[Any], depth: int, max_depth: int, nul: bool) -> bool:
    """The fast pass over every value, building no paths; ``_check_tree`` names a problem.
    ``nul``: whether any text may hold NUL, i.e. the raw JSON has ``\\u0000`` (JSON can
    carry NUL no other way), so keys and strings are scanned only then."""
    if depth >= max_depth:
        return False
    values: Any = node
    if type(node) is dict:
        if nul and any("\x00" in key for key in node):
            return False
        values = node.values()
    for value in values:
        kind = type(value)
        if kind is int:
            if value < 0 and value != FAILED:
                return False
        elif kind is str:
            if nul and "\x00" in value:
                return False
        elif kind is dict or kind is list:
            if not _is_clean(value, depth + 1, max_depth, nul):
                return False
        elif kind is float and not (
            math.isfinite(value) and (0 <= value < INEXACT_FLOAT or value == FAILED)
        ):
            return False
    return True


def _check_tree(root: Any, max_depth: int) -> None:
    """The slow walk with paths: depth limit, counts ≥ 0 (or -1 = failed), no NUL or lone
    surrogate. Raises DomainError naming the first problem's field path."""
    stack: list[tuple[Any, str, int]] = [(root, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict):
            if depth >= max_depth:
                raise DomainError(f"Nesting deeper than {max_depth} levels.", field=path or None)
            for key, value in node.items():
                _check_text(key, path or None)
                stack.append((value, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(node, list):
            if depth >= max_depth:
                raise DomainError(f"Nesting deeper than {max_depth} levels.", field=path)
            stack.extend((value, f"{path}[{i}]", depth + 1) for i, value in enumerate(node))
        elif isinstance(node, str):
            _check_text(node, path)
        elif isinstance(node, float) and not math.isfinite(node):
            raise DomainError("Numbers must be finite.", field=path)
        elif _is_number(node) and node < 0 and node != FAILED:
            raise DomainError(
                f"Counts cannot be negative (got {node}; -1 marks a failed metric).", field=path
            )


def _is_number(node: Any) -> bool:
    return isinstance(node, int | float) and not isinstance(node, bool)


def _check_text(text: str, path: str | None) -> None:
    if "\x00" in text:
        raise DomainError("Text cannot contain NUL characters.", field=path)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DomainError("Text contains an unpaired Unicode surrogate.", field=path) from exc


def _identity(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    uuid, namespace = payload.get("uuid"), payload.get("namespace_id")
    if uuid in (None, "") and namespace in (None, ""):
        raise DomainError("Either uuid or namespace_id is required.", field="uuid")
    for name, value in (("uuid", uuid), ("namespace_id", namespace)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise DomainError("Must be a string.", field=name)
        if not str(value).strip() or len(str(value)) > MAX_IDENTITY_LENGTH:
            raise DomainError(f"Must be 1 to {MAX_IDENTITY_LENGTH} characters.", field=name)
    if uuid not in (None, ""):
        return str(uuid).strip(), None
    return None, str(namespace).strip()


def parse_timestamp(value: Any, *, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise DomainError("Must be an ISO 8601 date-time string.", field=field)
    text = value.strip().replace(" UTC", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise DomainError(f"Not an ISO 8601 date-time: {value[:40]!r}.", field=field) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except (OverflowError, ValueError) as exc:
        raise DomainError("Out of the representable date range.", field=field) from exc


def _recorded_at(payload: dict[str, Any], now: dt.datetime, limits: Limits) -> dt.datetime:
    if payload.get("recorded_at") in (None, ""):
        raise DomainError("recorded_at is required.", field="recorded_at")
    moment = parse_timestamp(payload["recorded_at"], field="recorded_at")
    if moment > now + limits.future_tolerance:
        raise DomainError(
            f"recorded_at is in the future ({moment.isoformat()}).", field="recorded_at"
        )
    if moment.year < 2000:
        raise DomainError("recorded_at is before the year 2000.", field="recorded_at")
    return moment


def _known_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """Top-level license and version fields, typed; -1 (failed) and null are stored as None."""
    fields: dict[str, Any] = {}
    for key, name in LICENSE_FIELDS.items():
        value = payload.get(key)
        if value is None or value == FAILED:
            fields[name] = None
        elif isinstance(value, bool) or not isinstance(value, int):
            raise DomainError("Must be a whole number or null.", field=key)
        elif value > MAX_BIGINT:
            raise DomainError(f"Must be at most {MAX_BIGINT}.", field=key)
        else:
            fields[name] = value
    for key, (name, longest) in TEXT_FIELDS.items():
        value = payload.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            raise DomainError("Must be a string or null.", field=key)
        text = "" if value is None else str(value)
        if len(text) > longest:
            raise DomainError(f"At most {longest} characters.", field=key)
        fields[name] = text
    return fields


def canonical_json(payload: dict[str, Any]) -> str:
    """The content, not its spelling: sorted keys, no whitespace, numbers as Python reads
    them (so "1e-999" is stored as 0.0, not as the 1,001 digits PostgreSQL would keep)."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits, parsed exactly by the standard library
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


DEFAULT_LIMITS = Limits()


def validate_ping(raw: bytes, *, now: dt.datetime, limits: Limits = DEFAULT_LIMITS) -> ValidPing:
    """Parse and check one payload; raises DomainError (400 or 413) naming the problem."""
    payload = _loads(raw, limits)
    if not isinstance(payload, dict):
        raise DomainError("The payload must be a JSON object.")
    if not _is_clean(payload, 0, limits.max_depth, nul=b"\\u0000" in raw):
        # Read exactly (big integers) and find the problem, if there is one, with its path.
        payload = _loads_explained(raw, limits)
    uuid, namespace = _identity(payload)
    text = canonical_json(payload)
    return ValidPing(
        instance_uuid=uuid,
        namespace_id=namespace,
        recorded_at=_recorded_at(payload, now, limits),
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        payload=payload,
        text=text,
        fields=_known_fields(payload),
    )


def extract_metrics(
    payload: dict[str, Any], key_paths: list[str]
) -> tuple[dict[str, float | int], list[str]]:
    """The numeric values at ``key_paths``; -1 goes to the failed list, never to 0."""
    values: dict[str, float | int] = {}
    failed: list[str] = []
    for key_path in key_paths:
        node: Any = payload
        for part in key_path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, bool) or not isinstance(node, int | float) or abs(node) > MAX_BIGINT:
            continue  # not a count scoring can use (kept in the raw payload all the same)
        if node == FAILED:
            failed.append(key_path)
        else:
            values[key_path] = node
    return values, failed
