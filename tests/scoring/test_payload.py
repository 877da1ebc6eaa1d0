"""The payload validator on its own: every bad input named, every good one kept as sent."""

import datetime as dt
import gzip
import json

import pytest

from scoring.payload import DEFAULT_LIMITS, Limits, extract_metrics, gunzip, validate_ping
from tests.scoring.payloads import RECORDED_AT, encoded, payload
from usagehub.errors import DomainError

NOW = RECORDED_AT + dt.timedelta(hours=1)


def _error(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> DomainError:
    with pytest.raises(DomainError) as caught:
        validate_ping(raw, now=NOW, limits=limits)
    return caught.value


def _nested(depth: int) -> dict:
    body = payload()
    node = body
    for _ in range(depth):
        node["x"] = {}
        node = node["x"]
    return body


BAD = [
    ("malformed", b'{"uuid": "a", ', None, 400),
    ("not-an-object", b"[1, 2]", None, 400),
    ("not-utf8", b'{"uuid": "caf\xe9"}', None, 400),
    ("nan", b'{"uuid": "a", "recorded_at": "2026-11-20T00:00:00Z", "n": NaN}', None, 400),
    (
        "infinity",
        b'{"uuid": "a", "recorded_at": "2026-11-20T00:00:00Z", "n": -Infinity}',
        None,
        400,
    ),
    (
        "overflow-float",
        encoded(payload()).replace(b'"hostname"', b'"big": 1e400, "hostname"'),
        "big",
        400,
    ),
    ("missing-uuid", encoded({k: v for k, v in payload().items() if k != "uuid"}), "uuid", 400),
    ("empty-uuid", encoded(payload(uuid="")), "uuid", 400),
    ("uuid-wrong-type", encoded(payload(uuid=["a"])), "uuid", 400),
    ("uuid-too-long", encoded(payload(uuid="u" * 65)), "uuid", 400),
    (
        "missing-recorded-at",
        encoded({k: v for k, v in payload().items() if k != "recorded_at"}),
        "recorded_at",
        400,
    ),
    ("recorded-at-not-a-date", encoded(payload(recorded_at="last tuesday")), "recorded_at", 400),
    ("recorded-at-number", encoded(payload(recorded_at=1700000000)), "recorded_at", 400),
    (
        "recorded-at-future",
        encoded(payload(recorded_at="2030-01-01T00:00:00Z")),
        "recorded_at",
        400,
    ),
    ("negative-count", encoded(payload(counts={"projects": -5})), "counts.projects", 400),
    (
        "negative-in-list",
        encoded(payload(topology={"nodes": [{"n": -2}]})),
        "topology.nodes[0].n",
        400,
    ),
    ("license-wrong-type", encoded(payload(license_user_count="100")), "license_user_count", 400),
    ("license-too-big", encoded(payload(license_user_count=2**64)), "license_user_count", 400),
    ("nul-in-text", encoded(payload(hostname="a\x00b")), "hostname", 400),
    (
        "lone-surrogate",
        b'{"uuid": "a", "recorded_at": "2026-11-20T00:00:00Z", "h": "\\ud800"}',
        "h",
        400,
    ),
    ("too-deep", encoded(_nested(40)), None, 400),
    ("recursion-bomb", b"[" * 100_000 + b"]" * 100_000, None, 400),
]


@pytest.mark.parametrize(("raw", "field", "status"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_payloads_are_refused_with_the_field_named(raw, field, status):
    error = _error(raw)
    assert error.http_status == status
    if field is not None:
        assert error.field == field
    assert error.message


def test_too_deep_names_where_it_got_too_deep():
    assert _error(encoded(_nested(40))).field.startswith("x.x.x")


def test_an_oversized_payload_is_413():
    error = _error(encoded(payload(padding="x" * 2000)), Limits(max_bytes=1000))
    assert error.http_status == 413


def test_a_gzip_bomb_is_413_without_inflating_it_all():
    bomb = gzip.compress(b"{" + b" " * 50_000_000 + b"}")
    assert len(bomb) < 100_000
    with pytest.raises(DomainError) as caught:
        gunzip(bomb, max_bytes=1_000_000)
    assert caught.value.http_status == 413


def test_corrupt_gzip_is_400():
    with pytest.raises(DomainError) as caught:
        gunzip(b"\x1f\x8b not gzip", max_bytes=1000)
    assert caught.value.http_status == 400


def test_a_good_payload_keeps_its_values_and_license_fields():
    ping = validate_ping(encoded(payload()), now=NOW)
    assert ping.instance_uuid == "inst-0001"
    assert ping.recorded_at == RECORDED_AT
    assert ping.fields["licensed_seats"] == 100
    assert ping.fields["billable_users"] == 60
    assert ping.payload["counts_monthly"]["deployments"] == 120


def test_failed_license_counts_are_stored_as_unknown_not_zero():
    ping = validate_ping(encoded(payload(license_billable_users=-1)), now=NOW)
    assert ping.fields["billable_users"] is None


def test_key_order_and_whitespace_do_not_change_the_content_hash():
    body = payload()
    compact = json.dumps(body, separators=(",", ":")).encode()
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4).encode()
    assert (
        validate_ping(compact, now=NOW).content_hash
        == validate_ping(reordered, now=NOW).content_hash
    )


def test_recorded_at_accepts_gitlab_spellings():
    for spelling in ("2026-11-20 07:43:54 UTC", "2026-11-20T07:43:54Z", "2026-11-20T07:43:54"):
        ping = validate_ping(encoded(payload(recorded_at=spelling)), now=NOW)
        assert ping.recorded_at == RECORDED_AT


def test_namespace_id_identifies_a_saas_namespace():
    body = {k: v for k, v in payload().items() if k != "uuid"}
    ping = validate_ping(encoded({**body, "namespace_id": 9970}), now=NOW)
    assert (ping.instance_uuid, ping.namespace_id) == (None, "9970")


def test_extraction_marks_minus_one_as_failed_never_zero():
    values, failed = extract_metrics(
        payload(),
        [
            "counts_monthly.deployments",
            "usage_activity_by_stage_monthly.secure.sast_scans",
            "counts_monthly.absent",
            "hostname",
        ],
    )
    assert values == {"counts_monthly.deployments": 120}
    assert failed == ["usage_activity_by_stage_monthly.secure.sast_scans"]


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (b"123456789012345678901234567890", 123456789012345678901234567890),  # exact, not 1.2e29
        (b"1e20", 1e20),  # a large float is a float
        (b"18446744073709551615", 2**64 - 1),  # orjson's largest exact integer
        (b"18446744073709551616", 2**64),  # the first one orjson reads as a float
    ],
)
def test_large_numbers_are_read_exactly(literal, value):
    raw = encoded(payload())[:-1] + b', "big": ' + literal + b"}"
    ping = validate_ping(raw, now=NOW)
    assert ping.payload["big"] == value
    assert type(ping.payload["big"]) is type(value)
    assert f'"big":{value}' in ping.text


def test_a_large_negative_integer_is_a_negative_count_named_by_its_path():
    raw = encoded(payload())[:-1] + b', "big": -123456789012345678901234567890}'
    assert _error(raw).field == "big"
