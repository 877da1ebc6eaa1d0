"""POST /api/v1/pings and /api/v1/pings/batch: status codes, idempotency, auth, limits."""

import datetime as dt
import gzip
import json
import time
from pathlib import Path

import pytest

from accounts.api_keys import api_key_create
from scoring.models import AccountUsage, RecomputeRequest, UsagePing
from tests.factories import InstanceFactory, SubscriptionFactory
from tests.scoring.payloads import RECORDED_AT, encoded, payload

pytestmark = pytest.mark.django_db

URL = "/api/v1/pings"
BATCH = "/api/v1/pings/batch"
NEXT_WEEK = (RECORDED_AT + dt.timedelta(weeks=1)).isoformat()
SAMPLE = Path(__file__).resolve().parents[3] / "shared/data/gitlab/service_ping_example.json"


@pytest.fixture
def instance(account):
    SubscriptionFactory(account=account, licensed_seats=100)
    return InstanceFactory(account=account, uuid="inst-0001")


def test_a_new_ping_is_accepted_with_its_id(api, service_key, instance):
    response = api.post_raw(URL, encoded(payload()), key=service_key)
    assert response.status_code == 202
    ping = UsagePing.objects.get()
    assert response.json() == {"id": ping.pk, "status": "accepted"}
    assert ping.instance == instance
    assert ping.metrics["counts_monthly.deployments"] == 120
    assert ping.failed_metrics == ["usage_activity_by_stage_monthly.secure.sast_scans"]


def test_the_same_ping_again_is_a_no_op_answering_the_same_id(api, service_key, instance):
    first = api.post_raw(URL, encoded(payload()), key=service_key).json()
    again = api.post_raw(URL, json.dumps(payload(), indent=2).encode(), key=service_key)
    assert again.status_code == 200
    assert again.json() == {"id": first["id"], "status": "duplicate"}
    assert UsagePing.objects.count() == 1


def test_different_content_under_the_same_identity_is_a_409(api, service_key, instance):
    first = api.post_raw(URL, encoded(payload()), key=service_key).json()
    response = api.post_raw(URL, encoded(payload(license_billable_users=61)), key=service_key)
    assert response.status_code == 409
    body = response.json()
    assert body["id"] == first["id"]
    assert body["errors"][0]["field"] == "recorded_at"
    assert UsagePing.objects.get().billable_users == 60


def test_a_saas_namespace_ping_is_matched_to_its_instance(api, service_key, account):
    namespace = InstanceFactory(account=account, uuid=None, namespace_id="9970")
    body = payload(uuid=None, namespace_id=9970)
    assert api.post_raw(URL, encoded(body), key=service_key).status_code == 202
    assert UsagePing.objects.get().instance == namespace
    assert RecomputeRequest.objects.filter(account=account).exists()


def test_pings_for_one_account_claim_its_recompute_message_once(
    on_postgres, api, service_key, instance, account, settings
):
    """The mark of the first ping is stamped as enqueued; the next ones within the
    requeue window only move ``requested_at`` (one message for many pings)."""
    settings.RECOMPUTE_REQUEUE_SECONDS = 3600
    weeks = [
        payload(recorded_at=(RECORDED_AT - dt.timedelta(weeks=n)).isoformat()) for n in (0, 1, 2)
    ]

    def post(body: dict) -> RecomputeRequest:
        assert api.post_raw(URL, encoded(body), key=service_key).status_code == 202
        return RecomputeRequest.objects.get(account=account)

    first = post(weeks[0])
    assert first.enqueued_at is not None
    second = post(weeks[1])
    assert (second.enqueued_at, second.requested_at > first.requested_at) == (
        first.enqueued_at,
        True,
    )
    settings.RECOMPUTE_REQUEUE_SECONDS = 0  # a message older than the window is sent again
    assert post(weeks[2]).enqueued_at > first.enqueued_at


def test_while_the_broker_rests_a_ping_leaves_its_mark_to_the_sweep(
    on_postgres, api, service_key, instance, account, monkeypatch
):
    """After a failed publish nothing claims a message: the mark stays unenqueued, so
    the sweep (which also waits out the rest) sends it later."""
    from scoring import recompute

    monkeypatch.setattr(recompute, "_broker_down_until", time.monotonic() + 60)
    assert api.post_raw(URL, encoded(payload()), key=service_key).status_code == 202
    assert RecomputeRequest.objects.get(account=account).enqueued_at is None
    monkeypatch.setattr(recompute, "_broker_down_until", 0.0)
    assert recompute.recompute_enqueue() == 1  # the sweep sends it once the broker is back


@pytest.mark.django_db(transaction=True)
def test_accepting_a_ping_refreshes_the_account_usage(api, service_key, instance, account):
    api.post_raw(URL, encoded(payload()), key=service_key)
    usage = AccountUsage.objects.get(account=account)
    assert (usage.billable_users, usage.licensed_seats) == (60, 100)
    assert usage.utilization == pytest.approx(0.6)
    assert not RecomputeRequest.objects.exists()


def test_a_ping_from_an_unknown_instance_is_kept_unmatched(api, service_key):
    response = api.post_raw(URL, encoded(payload(uuid="stranger")), key=service_key)
    assert response.status_code == 202
    ping = UsagePing.objects.get()
    assert ping.instance is None
    assert ping.instance_uuid == "stranger"


def test_an_unknown_instance_is_matched_by_a_subscriptions_license_id(api, service_key):
    subscription = SubscriptionFactory(license_id="lic-42")
    api.post_raw(URL, encoded(payload(uuid="new-uuid", license_id="lic-42")), key=service_key)
    ping = UsagePing.objects.get()
    assert ping.instance.account == subscription.account
    assert ping.instance.subscription == subscription


def test_the_real_gitlab_sample_ingests_under_its_key_paths(api, service_key):
    if not SAMPLE.exists():
        pytest.skip(f"shared sample data not found at {SAMPLE}")
    raw = SAMPLE.read_bytes()
    response = api.post_raw(URL, raw, key=service_key)
    assert response.status_code == 202, response.json()
    ping = UsagePing.objects.get()
    assert ping.instance_uuid == "0000000-0000-0000-0000-000000000000"
    assert ping.licensed_seats == 999
    assert ping.payload == json.loads(raw)
    assert ping.version == "12.10.0-pre"


def test_gzip_bodies_are_accepted(api, service_key, instance):
    response = api.post_raw(
        URL, gzip.compress(encoded(payload())), key=service_key, HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 202


def test_a_gzip_bomb_is_refused_with_413(api, service_key, settings):
    settings.INGEST_MAX_PAYLOAD_BYTES = 1_000_000
    bomb = gzip.compress(b'{"uuid": "a", "pad": "' + b"x" * 20_000_000 + b'"}')
    response = api.post_raw(URL, bomb, key=service_key, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "too_large"


def test_an_oversized_body_is_refused_with_413(api, service_key, settings):
    settings.INGEST_MAX_PAYLOAD_BYTES = 10_000
    response = api.post_raw(URL, encoded(payload(pad="x" * 20_000)), key=service_key)
    assert response.status_code == 413
    assert not UsagePing.objects.exists()


def test_an_unsupported_encoding_is_refused_with_415(api, service_key):
    response = api.post_raw(URL, b"...", key=service_key, HTTP_CONTENT_ENCODING="br")
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        (b"\xff\xfe{}", None),
        (b'{"uuid": "a", "recorded_at": "2026-11-20T00:00:00Z", "x": NaN}', None),
        (encoded(payload(recorded_at="2099-01-01T00:00:00Z")), "recorded_at"),
        (encoded(payload(counts={"projects": -3})), "counts.projects"),
        (encoded({"recorded_at": "2026-11-20T00:00:00Z"}), "uuid"),
    ],
    ids=["malformed", "not-utf8", "nan", "future", "negative", "no-uuid"],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(api, service_key, body, field):
    response = api.post_raw(URL, body, key=service_key)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == field
    assert error["message"]
    assert not UsagePing.objects.exists()


def test_no_key_is_401(api):
    response = api.post_raw(URL, encoded(payload()))
    assert response.status_code in (401, 403)
    assert response.json()["errors"][0]["message"]


def test_a_wrong_or_revoked_key_is_401(api, service_key):
    from django.utils import timezone

    from accounts.models import ApiKey

    assert api.post_raw(URL, encoded(payload()), key="uh_nope_nope").status_code == 401
    ApiKey.objects.update(revoked_at=timezone.now())
    assert api.post_raw(URL, encoded(payload()), key=service_key).status_code == 401


def test_a_key_without_the_ingest_scope_is_403(api, db):
    _, read_only = api_key_create(name="reader", scopes=["read"])
    response = api.post_raw(URL, encoded(payload()), key=read_only)
    assert response.status_code == 403
    assert "ingest" in response.json()["errors"][0]["message"]


def test_an_outsiders_key_cannot_ingest_for_someone_elses_instance(api, outsider, instance):
    _, key = api_key_create(name="outsider", scopes=["ingest"], user=outsider)
    response = api.post_raw(URL, encoded(payload()), key=key)
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "uuid"
    assert not UsagePing.objects.exists()


def test_an_owners_key_ingests_for_their_instance(api, owner, instance):
    _, key = api_key_create(name="owner", scopes=["ingest"], user=owner)
    assert api.post_raw(URL, encoded(payload()), key=key).status_code == 202


def test_a_batch_reports_each_line_and_keeps_the_good_ones(api, service_key, instance):
    lines = [
        encoded(payload()),
        b"{broken",
        b"",
        encoded(payload()),
        encoded(payload(license_billable_users=1)),
        encoded(payload(uuid="inst-0002")),
    ]
    response = api.post_raw(
        BATCH, b"\n".join(lines) + b"\n", key=service_key, content_type="application/x-ndjson"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {"accepted": 2, "duplicate": 1, "conflict": 1, "rejected": 1}
    statuses = [(r["line"], r["status"]) for r in body["results"]]
    assert statuses == [
        (1, "accepted"),
        (2, "rejected"),
        (4, "duplicate"),
        (5, "conflict"),
        (6, "accepted"),
    ]
    first_id = body["results"][0]["id"]
    assert body["results"][2]["id"] == first_id
    assert UsagePing.objects.count() == 2


def test_a_gzipped_batch_with_an_overlong_line_rejects_just_that_line(api, service_key, settings):
    settings.INGEST_MAX_PAYLOAD_BYTES = 5_000
    lines = [
        encoded(payload(uuid="a")),
        encoded(payload(uuid="b", pad="x" * 10_000)),
        encoded(payload(uuid="c")),
    ]
    response = api.post_raw(
        BATCH,
        gzip.compress(b"\n".join(lines)),
        key=service_key,
        content_type="application/x-ndjson",
        HTTP_CONTENT_ENCODING="gzip",
    )
    results = response.json()["results"]
    assert [(r["line"], r["status"]) for r in results] == [
        (1, "accepted"),
        (2, "rejected"),
        (3, "accepted"),
    ]
    assert results[1]["errors"][0]["code"] == "too_large"


def test_an_empty_batch_is_a_400(api, service_key):
    response = api.post_raw(BATCH, b"\n\n", key=service_key, content_type="application/x-ndjson")
    assert response.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_account_usage_counts_only_included_production_instances(api, service_key, account):
    SubscriptionFactory(account=account, licensed_seats=500)
    InstanceFactory(account=account, uuid="prod")
    InstanceFactory(account=account, uuid="staging", instance_type="non_production")
    InstanceFactory(account=account, uuid="excluded", included_in_health=False)
    for uuid, billable in (("prod", 100), ("staging", 900), ("excluded", 900)):
        api.post_raw(
            URL,
            encoded(payload(uuid=uuid, license_billable_users=billable, license_user_count=None)),
            key=service_key,
        )
    usage = AccountUsage.objects.get(account=account)
    assert usage.billable_users == 100
    assert usage.licensed_seats == 500  # from the CRM: the payloads did not say
    assert usage.instances_counted == 1


@pytest.mark.django_db(transaction=True)
def test_of_two_production_instances_on_one_subscription_the_bigger_counts(
    api, service_key, account
):
    subscription = SubscriptionFactory(account=account, licensed_seats=500)
    InstanceFactory(account=account, uuid="main", subscription=subscription)
    InstanceFactory(account=account, uuid="mirror", subscription=subscription)
    for uuid, billable in (("main", 300), ("mirror", 20)):
        api.post_raw(
            URL, encoded(payload(uuid=uuid, license_billable_users=billable)), key=service_key
        )
    assert AccountUsage.objects.get(account=account).billable_users == 300


@pytest.mark.django_db(transaction=True)
def test_the_latest_ping_wins_whatever_order_they_arrive_in(api, service_key, instance, account):
    api.post_raw(
        URL,
        encoded(payload(recorded_at="2026-11-20T00:00:00Z", license_billable_users=70)),
        key=service_key,
    )
    api.post_raw(
        URL,
        encoded(payload(recorded_at="2026-11-13T00:00:00Z", license_billable_users=50)),
        key=service_key,
    )
    assert AccountUsage.objects.get(account=account).billable_users == 70


@pytest.fixture
def counted_health_checks(monkeypatch) -> list[bool]:
    """Each ``SELECT 1`` health check Django's connection runs, with its result."""
    from django.db import connection

    checks: list[bool] = []
    real = connection.is_usable

    def is_usable() -> bool:
        checks.append(real())
        return checks[-1]

    monkeypatch.setattr(connection, "is_usable", is_usable)
    return checks


@pytest.mark.django_db(transaction=True)
def test_a_ping_on_a_persistent_connection_costs_no_health_check_round_trip(
    on_postgres, api, service_key, instance, counted_health_checks
):
    from django.db import connection

    assert api.post_raw(URL, encoded(payload()), key=service_key).status_code == 202
    counted_health_checks.clear()  # the first request also looked the key up
    connection.health_check_done = False  # as at the start of each request
    response = api.post_raw(URL, encoded(payload(recorded_at=NEXT_WEEK)), key=service_key)
    assert response.status_code == 202
    assert counted_health_checks == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("threshold", "prepared"),
    [(5, {"SELECT": 2, "WITH": 2}), (None, {})],  # the instance lookup; the insert and mark
    ids=["prepared", "turned-off-for-a-pooler"],
)
def test_a_lone_pings_two_statements_are_prepared_once_per_connection(
    on_postgres, api, service_key, instance, monkeypatch, request, threshold, prepared
):
    from django.db import connection

    connection.close()  # the next connection reads the setting
    request.addfinalizer(connection.close)  # later tests get a connection as configured
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", threshold)
    for recorded_at in (None, NEXT_WEEK):
        body = encoded(payload() if recorded_at is None else payload(recorded_at=recorded_at))
        assert api.post_raw(URL, body, key=service_key).status_code == 202
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        runs = {statement.split()[0]: count for statement, count in cursor.fetchall()}
    assert runs == prepared
    assert UsagePing.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_ping_after_the_database_dropped_the_connection_is_stored(
    on_postgres, api, service_key, instance, counted_health_checks
):
    """A database restart kills persistent connections: the ingestion path's first read
    finds out, and the ping goes through on a new connection."""
    from django.db import connection, connections

    assert api.post_raw(URL, encoded(payload()), key=service_key).status_code == 202
    killer = connections.create_connection("default")
    with killer.cursor() as cursor:
        pid = connection.connection.info.backend_pid
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])  # waits for the exit
    killer.close()
    connection.health_check_done = False
    counted_health_checks.clear()

    response = api.post_raw(URL, encoded(payload(recorded_at=NEXT_WEEK)), key=service_key)

    assert response.status_code == 202
    assert UsagePing.objects.filter(pk=response.json()["id"]).exists()
    assert counted_health_checks == [False]  # asked only once the read had failed
