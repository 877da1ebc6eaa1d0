"""Property-based fuzzing (Hypothesis) of the payload validator and the NDJSON reader:
whatever bytes arrive, the answer is a valid ping or a DomainError — never another
exception — and what is accepted can be stored and read back unchanged."""

import datetime as dt
import gzip
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.ndjson import iter_lines
from scoring.payload import Limits, gunzip, validate_ping
from usagehub.errors import DomainError

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
LIMITS = Limits(max_bytes=200_000, max_depth=8)
FAST = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


def _outcome(raw: bytes) -> object:
    try:
        return validate_ping(raw, now=NOW, limits=LIMITS)
    except DomainError as error:
        assert error.http_status in (400, 413)
        assert error.message
        return error


@FAST
@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_are_a_ping_or_a_domain_error(raw):
    _outcome(raw)


@FAST
@given(json_values)
def test_arbitrary_json_documents_are_a_ping_or_a_domain_error(document):
    try:
        raw = json.dumps(document, allow_nan=True).encode()
    except (ValueError, OverflowError):
        return
    _outcome(raw)


@FAST
@given(
    st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=6),
    st.text(min_size=1, max_size=30),
)
def test_an_accepted_ping_stores_its_exact_content(extra, uuid):
    body = {**extra, "uuid": uuid, "recorded_at": "2026-11-20T00:00:00+00:00"}
    try:
        raw = json.dumps(body, allow_nan=False).encode()
    except (ValueError, OverflowError):
        return
    result = _outcome(raw)
    if isinstance(result, DomainError):
        return
    assert json.loads(result.text) == result.payload  # exact, integers beyond 64 bits too
    assert result.instance_uuid == uuid.strip()


@FAST
@given(st.lists(st.binary(max_size=300), max_size=20), st.integers(10, 400))
def test_the_line_reader_never_loses_or_invents_lines(chunks, max_line):
    body = b"\n".join(chunks)
    read = list(iter_lines(io.BytesIO(body), max_line_bytes=max_line))
    kept = [raw.rstrip(b"\n") for _, raw in read if isinstance(raw, bytes)]
    refused = [raw for _, raw in read if isinstance(raw, DomainError)]
    lines = [line for line in body.split(b"\n") if line.strip()]
    assert kept == [line for line in lines if len(line) <= max_line]
    assert len(refused) == sum(1 for line in lines if len(line) > max_line)


@FAST
@given(st.binary(max_size=3_000))
def test_gzip_bodies_inflate_exactly_or_are_refused(raw):
    assert gunzip(gzip.compress(raw), max_bytes=3_000) == raw
    try:
        gunzip(raw, max_bytes=3_000)
    except DomainError as error:
        assert error.http_status in (400, 413)
