"""Hostile input on the ingestion doors: never a 5xx, never silently lost or altered data.

Many of these pinned bugs found in review (500s, lost digits, a deadlock between
overlapping batches); all are fixed. Some only showed on PostgreSQL, where COPY and
jsonb are stricter than SQLite, so CI runs this file on both.
"""

import contextlib
import gzip
import io
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.api_keys import api_key_create
from accounts.models import Instance
from scoring.health import accounts_recompute
from scoring.ingestion import pings_ingest
from scoring.matching import unmatched_pings_map
from scoring.models import AccountUsage, MetricDefinition, RecomputeRequest, UsagePing
from scoring.ndjson import iter_lines
from scoring.tracking import metric_values_backfill
from tests.factories import AccountFactory, InstanceFactory, SubscriptionFactory
from tests.scoring.payloads import encoded, payload

pytestmark = pytest.mark.django_db

URL = "/api/v1/pings"
BATCH = "/api/v1/pings/batch"
NDJSON = "application/x-ndjson"


def _with_metric(literal: bytes, **fields) -> bytes:
    """A payload whose tracked ``counts_monthly.deployments`` is ``literal`` exactly."""
    body = encoded(payload(**fields))
    return body[:-1] + b', "counts_monthly": {"deployments": ' + literal + b"}}"


@pytest.fixture
def server_errors_as_responses(api):
    """Let a 500 come back as a response, as gunicorn would send it, not as an exception."""
    api.raise_request_exception = False
    return api


# --- What the validator already gets right: keep it that way ------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (encoded(payload(hostname="a\u0000b")), "hostname"),
        (encoded(payload())[:-1] + b', "h": "\\ud800"}', "h"),
        (encoded(payload())[:-1] + b', "n": {"x": -2}}', "n.x"),
        (encoded(payload())[:-1] + b', "d": ' + b"[" * 33 + b"]" * 33 + b"}", None),
        (encoded(payload())[:-1] + b', "d": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None),
        (b"\xef\xbb\xbf" + encoded(payload()), None),
        (encoded(payload())[:-1] + b', "h": "\xc0\xaf"}', None),
        (encoded(payload(license_user_count=2**63)), "license_user_count"),
        (b"null", None),
        (b"", None),
    ],
    ids=[
        "nul",
        "lone-surrogate",
        "negative",
        "depth-33",
        "depth-100k",
        "bom",
        "overlong-utf8",
        "bigint+1",
        "null",
        "empty",
    ],
)
def test_hostile_payloads_are_400s_that_store_nothing(api, service_key, body, field):
    response = api.post_raw(URL, body, key=service_key)
    assert response.status_code == 400
    if field is not None:
        assert response.json()["errors"][0]["field"] == field
    assert not UsagePing.objects.exists()


def test_a_nul_in_a_key_is_a_400(api, service_key):
    body = encoded(payload() | {"a\u0000": 1})
    assert api.post_raw(URL, body, key=service_key).status_code == 400


def test_an_astral_uuid_of_64_characters_round_trips(api, service_key):
    uuid = "\U0001f600" * 64
    assert api.post_raw(URL, encoded(payload(uuid=uuid)), key=service_key).status_code == 202
    assert UsagePing.objects.get().instance_uuid == uuid


def test_the_largest_bigint_license_count_is_stored_exactly(api, service_key):
    body = encoded(payload(license_user_count=2**63 - 1))
    assert api.post_raw(URL, body, key=service_key).status_code == 202
    assert UsagePing.objects.get().licensed_seats == 2**63 - 1


def test_with_duplicate_keys_the_last_one_wins_everywhere(api, service_key):
    body = b'{"uuid": "first", "uuid": "last", "recorded_at": "2026-11-20T01:00:00Z"}'
    assert api.post_raw(URL, body, key=service_key).status_code == 202
    ping = UsagePing.objects.get()
    assert (ping.instance_uuid, ping.payload["uuid"]) == ("last", "last")


def test_crlf_blank_lines_and_no_final_newline_keep_line_numbers(api, service_key):
    lines = [encoded(payload(uuid=f"crlf-{i}")) for i in range(3)]
    body = b"\r\n\r\n".join(lines)  # CRLF, a blank line between each, no final newline
    response = api.post_raw(BATCH, body, key=service_key, content_type=NDJSON)
    assert [(r["line"], r["status"]) for r in response.json()["results"]] == [
        (1, "accepted"),
        (3, "accepted"),
        (5, "accepted"),
    ]


def test_many_identical_lines_across_chunks_store_one_row(api, service_key):
    line = encoded(payload(uuid="same"))
    response = api.post_raw(BATCH, (line + b"\n") * 450, key=service_key, content_type=NDJSON)
    body = response.json()
    assert body["summary"] == {"accepted": 1, "duplicate": 449, "conflict": 0, "rejected": 0}
    assert {r["id"] for r in body["results"]} == {UsagePing.objects.get().pk}


def test_a_truncated_gzip_batch_keeps_the_whole_lines_and_says_where_it_stopped(api, service_key):
    lines = b"\n".join(encoded(payload(uuid=f"gz-{i}")) for i in range(50))
    body = gzip.compress(lines)[:-200]
    response = api.post_raw(
        BATCH, body, key=service_key, content_type=NDJSON, HTTP_CONTENT_ENCODING="gzip"
    )
    results = response.json()["results"]
    assert results[-1]["status"] == "rejected"
    assert "Cannot read past this line" in results[-1]["errors"][0]["message"]
    assert UsagePing.objects.count() == len(results) - 1


# --- Bugs: 5xx on bad input ----------------------------------------------------------------


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_recorded_at_beyond_the_utc_range_is_a_400(
    server_errors_as_responses, service_key, moment
):
    response = server_errors_as_responses.post_raw(
        URL, encoded(payload(recorded_at=moment)), key=service_key
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "recorded_at"


def test_an_integer_of_5000_digits_is_a_400(server_errors_as_responses, service_key):
    response = server_errors_as_responses.post_raw(URL, _with_metric(b"1" * 5000), key=service_key)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("field", "length"), [("version", 51), ("edition", 21), ("license_plan", 31)]
)
def test_text_fields_longer_than_their_column_are_refused_or_fit(
    server_errors_as_responses, service_key, field, length
):
    response = server_errors_as_responses.post_raw(
        URL, encoded(payload(**{field: "v" * length})), key=service_key
    )
    if response.status_code == 400:
        assert response.json()["errors"][0]["field"] == field
    else:
        assert response.status_code == 202
        limit = UsagePing._meta.get_field(field).max_length
        assert len(getattr(UsagePing.objects.get(), field)) <= limit


def test_a_number_postgresql_cannot_store_is_not_a_500(
    request, server_errors_as_responses, service_key
):
    response = server_errors_as_responses.post_raw(URL, _with_metric(b"1e-20000"), key=service_key)
    assert response.status_code in (202, 400)


@pytest.mark.parametrize(
    "bad_line",
    [b"1" * 5000, b"version"],
    ids=["5000-digit-int", "overlong-version"],
)
def test_one_bad_line_is_rejected_alone_and_its_neighbours_are_kept(
    request, server_errors_as_responses, service_key, bad_line
):
    if bad_line == b"version":
        bad = encoded(payload(uuid="bad", version="v" * 60))
    else:
        bad = _with_metric(bad_line, uuid="bad")
    lines = [encoded(payload(uuid="good-1")), bad, encoded(payload(uuid="good-2"))]
    response = server_errors_as_responses.post_raw(
        BATCH, b"\n".join(lines), key=service_key, content_type=NDJSON
    )
    assert response.status_code == 200
    assert {"good-1", "good-2"} <= set(UsagePing.objects.values_list("instance_uuid", flat=True))


@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_sent_in_opposite_orders_both_succeed(
    on_postgres, service_key, monkeypatch
):
    from scoring import ingestion

    insert = ingestion.pings_insert
    both_started = threading.Barrier(2, timeout=5)

    def first_row_then_the_rest(rows):
        """Interleave the two writers deterministically: each inserts one row, then waits."""
        insert(rows[:1])
        # Broken when the other writer is blocked on our row: nothing left to interleave.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_started.wait()
        insert(rows[1:])

    monkeypatch.setattr(ingestion, "pings_insert", first_row_then_the_rest)
    lines = [encoded(payload(uuid=f"race-{i}")) for i in range(2)]
    bodies = [b"\n".join(lines), b"\n".join(reversed(lines))]
    statuses: list[int | None] = [None, None]

    def send(i: int) -> None:
        try:
            response = APIClient().generic(
                "POST", BATCH, bodies[i], NDJSON, HTTP_AUTHORIZATION=f"Api-Key {service_key}"
            )
            statuses[i] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200, 200]
    assert UsagePing.objects.count() == 2


# --- Bugs: data silently altered or lost ---------------------------------------------------


def test_integers_beyond_64_bits_that_differ_are_a_conflict(api, service_key):
    assert (
        api.post_raw(URL, _with_metric(b"18446744073709551616"), key=service_key).status_code == 202
    )
    again = api.post_raw(URL, _with_metric(b"18446744073709551617"), key=service_key)
    assert again.status_code == 409


def test_a_20_digit_count_is_kept_exactly_but_not_scored(api, service_key):
    api.post_raw(URL, _with_metric(b"18446744073709551617"), key=service_key)
    ping = UsagePing.objects.get()
    assert ping.payload["counts_monthly"]["deployments"] == 2**64 + 1
    assert "counts_monthly.deployments" not in ping.metrics


def test_tiny_exponents_do_not_inflate_the_stored_payload(api, service_key):
    # Stored as received, PostgreSQL's numeric would keep 1e-16383 as 16,383 digits.
    body = encoded(payload())[:-1] + b', "a": [' + b",".join([b"1e-16383"] * 200) + b"]}"
    assert api.post_raw(URL, body, key=service_key).status_code == 202
    text = "payload::text" if connection.vendor == "postgresql" else "payload"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT length({text}) FROM {UsagePing._meta.db_table}")  # noqa: S608
        (stored,) = cursor.fetchone()
    assert stored < 10 * len(body)


@pytest.mark.parametrize("field", ["version", "edition", "license_plan", "license_id"])
def test_a_boolean_text_field_is_a_400(api, service_key, field):
    response = api.post_raw(URL, encoded(payload(**{field: True})), key=service_key)
    assert response.status_code == 400


def test_a_multi_member_gzip_body_is_read_whole_like_the_cli_does(api, service_key):
    raw = encoded(payload())
    body = gzip.compress(raw[:20]) + gzip.compress(raw[20:])
    response = api.post_raw(URL, body, key=service_key, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 202


def test_bytes_after_the_gzip_stream_are_a_400(api, service_key):
    body = gzip.compress(encoded(payload())) + b"GARBAGE"
    response = api.post_raw(URL, body, key=service_key, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400


@pytest.mark.parametrize("path", [URL, BATCH])
def test_a_chunked_body_is_read_or_refused_as_such(api, service_key, path):
    response = api.post_raw(
        path,
        encoded(payload()) + b"\n",
        key=service_key,
        content_type=NDJSON,
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",  # what gunicorn passes on for a chunked request
    )
    assert response.status_code in (200, 202, 411)


def test_a_refused_ping_creates_no_instance(api, outsider):
    SubscriptionFactory(license_id="lic-42")
    _, key = api_key_create(name="outsider", scopes=["ingest"], user=outsider)
    body = encoded(payload(uuid="new-uuid", license_id="lic-42"))
    assert api.post_raw(URL, body, key=key).status_code == 404
    assert not Instance.objects.exists()


# --- Bugs: a stored ping that breaks what comes after --------------------------------------


@pytest.mark.parametrize(
    "pings",
    [
        [(b"1" + b"0" * 400, 60)],
        [(b"1", 2**63 - 1), (b"1", 2**63 - 1)],
    ],
    ids=["400-digit-metric", "billable-sum-beyond-bigint"],
)
def test_a_hostile_but_accepted_ping_does_not_break_the_recompute(api, service_key, account, pings):
    for i, (metric, billable) in enumerate(pings):
        InstanceFactory(account=account, uuid=f"inst-{i}", instance_type="production")
        body = _with_metric(metric, uuid=f"inst-{i}", license_billable_users=billable)
        assert api.post_raw(URL, body, key=service_key).status_code == 202
    accounts_recompute(account_ids=[account.pk])
    assert AccountUsage.objects.filter(account=account).exists()
    assert not RecomputeRequest.objects.filter(account=account).exists()


def test_an_overlong_line_is_skipped_without_reading_past_the_batch_limit():
    class Counting(io.BytesIO):
        consumed = 0

        def readline(self, size=-1, /):
            line = super().readline(size)
            self.consumed += len(line)
            return line

    stream = Counting(b"x" * 1_000_000 + b"\n{}\n")
    lines = list(iter_lines(stream, max_line_bytes=1_000, max_total_bytes=10_000))
    assert lines[0][1].code == "too_large"
    assert stream.consumed <= 10_000 + 1_001


# --- Bugs outside the request: mapping and backfill ----------------------------------------


def test_moving_an_instance_marks_both_accounts_for_recompute(api, service_key, account, owner):
    InstanceFactory(account=account, uuid="moving", instance_type="production")
    api.post_raw(URL, encoded(payload(uuid="moving")), key=service_key)
    RecomputeRequest.objects.all().delete()
    other = AccountFactory(owner=owner)
    unmatched_pings_map(account=other, instance_uuid="moving")
    marked = set(RecomputeRequest.objects.values_list("account_id", flat=True))
    assert marked == {account.pk, other.pk}


def test_backfill_queries_do_not_grow_with_the_pings(account, django_assert_max_num_queries):
    InstanceFactory(account=account, uuid="bf", instance_type="production")
    lines = [
        (i, encoded(payload(uuid="bf", recorded_at=f"2026-11-{i:02d}T00:00:00Z", x=i)))
        for i in range(1, 21)
    ]
    list(pings_ingest(lines=lines, source="cli"))
    MetricDefinition.objects.create(
        key_path="x",
        time_frame="none",
        data_source="database",
        status="active",
        value_type="number",
    )
    with django_assert_max_num_queries(10):
        assert metric_values_backfill(key_paths=["x"]) == 20


# --- Found re-testing the working tree's fixes ----------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [{"uuid": "123e4567-e89b-12d3-a456-426614174000"}, {"revision": "a1e0562d4e3"}],
    ids=["uuid", "revision"],
)
def test_strings_that_look_like_exponents_are_accepted(api, service_key, fields):
    response = api.post_raw(URL, encoded(payload(**fields)), key=service_key)
    assert response.status_code == 202


def test_three_digit_exponents_do_not_inflate_the_stored_payload(api, service_key):
    body = encoded(payload())[:-1] + b', "a": [' + b",".join([b"1e-999"] * 200) + b"]}"
    response = api.post_raw(URL, body, key=service_key)
    if response.status_code == 400:
        return  # refused outright: nothing stored to inflate
    assert response.status_code == 202
    text = "payload::text" if connection.vendor == "postgresql" else "payload"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT length({text}) FROM {UsagePing._meta.db_table}")  # noqa: S608
        (stored,) = cursor.fetchone()
    assert stored < 10 * len(body)


# --- Follow-ups from the review's open findings ----------------------------------------------


def test_a_batch_with_too_many_lines_stops_with_a_413_line(api, service_key, settings):
    settings.INGEST_MAX_BATCH_LINES = 3
    lines = [encoded(payload(uuid=f"l{i}")) for i in range(5)]
    response = api.post_raw(BATCH, b"\n".join(lines), key=service_key, content_type=NDJSON)
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * 3 + ["rejected"]
    assert results[-1]["errors"][0]["code"] == "too_large"
    assert UsagePing.objects.count() == 3


def test_an_inactive_users_key_stops_working(api, owner, account):
    InstanceFactory(account=account, uuid="inst-0001")
    _, key = api_key_create(name="owner", scopes=["ingest"], user=owner)
    owner.is_active = False
    owner.save()
    assert api.post_raw(URL, encoded(payload()), key=key).status_code == 401


def test_an_instance_matched_by_license_is_production_and_scored(api, service_key):
    subscription = SubscriptionFactory(license_id="lic-7")
    api.post_raw(URL, encoded(payload(uuid="fresh", license_id="lic-7")), key=service_key)
    instance = Instance.objects.get(uuid="fresh")
    assert instance.account == subscription.account
    assert instance.instance_type == "production"


def test_mapping_an_existing_instance_keeps_its_settings(account):
    from scoring.matching import unmatched_pings_map

    staging = InstanceFactory(
        uuid="stg", instance_type="non_production", included_in_health=False, account=account
    )
    unmatched_pings_map(account=account, instance_uuid="stg")
    staging.refresh_from_db()
    assert (staging.instance_type, staging.included_in_health) == ("non_production", False)


def test_upper_case_file_names_are_read_by_the_cli(tmp_path):
    import io

    from django.core.management import call_command

    (tmp_path / "PING.JSON").write_bytes(encoded(payload(uuid="upper")))
    out = io.StringIO()
    call_command("ingest_pings", str(tmp_path), stdout=out)
    assert out.getvalue().startswith("1 accepted")
