"""The integration API: scopes, object access through the one helper, explicit writable
fields, idempotent upserts, scores and the CRM export."""

import csv
import io
import json
import re

import pytest

from accounts.api_keys import api_key_create
from accounts.models import Account, Instance, Objective, Subscription
from scoring.health import accounts_recompute
from tests.scoring.test_health import _customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(owner):
    customer = _customer(owner=owner, name="Acme Bank", ci_users=40)
    accounts_recompute(account_ids=[customer.pk])
    return customer


def key_for(user=None, scopes=("read", "write")) -> str:
    return api_key_create(name="test", scopes=scopes, user=user)[1]


def call(api, method, url, key, body=None):
    return api.generic(
        method,
        url,
        json.dumps(body or {}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )


def endpoints(account):
    subscription = account.subscriptions.first()
    instance = account.instances.first()
    objective = Objective.objects.create(account=account, title="Roll out CI")
    return [
        ("GET", f"/api/v1/accounts/{account.pk}", None),
        ("GET", f"/api/v1/accounts/{account.pk}/health", None),
        ("GET", f"/api/v1/accounts/{account.pk}/health/history", None),
        ("GET", f"/api/v1/accounts/{account.pk}/objectives", None),
        ("GET", f"/api/v1/accounts/{account.pk}/activities", None),
        ("GET", f"/api/v1/accounts/{account.pk}/use-cases", None),
        ("POST", f"/api/v1/accounts/{account.pk}/objectives", {"title": "x"}),
        ("POST", f"/api/v1/accounts/{account.pk}/activities", {"kind": "note", "body": "hi"}),
        (
            "PATCH",
            f"/api/v1/accounts/{account.pk}/use-cases/ci",
            {"status": "adopted", "reason": "r"},
        ),
        ("PATCH", f"/api/v1/objectives/{objective.pk}", {"title": "y"}),
        (
            "POST",
            f"/api/v1/objectives/{objective.pk}/close",
            {"status": "achieved", "outcome_summary": "done"},
        ),
        ("PUT", f"/api/v1/accounts/by-external-id/{account.crm_id}", {"name": "Renamed"}),
        (
            "PUT",
            f"/api/v1/subscriptions/by-external-id/{subscription.external_id}",
            {
                "account": account.crm_id,
                "licensed_seats": 5,
                "arr": "1.00",
                "start_date": "2025-01-01",
                "renewal_date": "2026-01-01",
            },
        ),
        ("PUT", f"/api/v1/instances/by-uuid/{instance.uuid}", {"account": account.crm_id}),
    ]


def test_an_outsiders_key_gets_404_everywhere(api, outsider, scored):
    key = key_for(outsider)
    for method, url, body in endpoints(scored):
        response = call(api, method, url, key, body)
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.json()["errors"][0]["message"]


def test_a_key_without_the_scope_gets_403(api, owner, scored):
    read_only, write_only = key_for(owner, ["read"]), key_for(owner, ["write"])
    for method, url, body in endpoints(scored):
        key = write_only if method == "GET" else read_only
        response = call(api, method, url, key, body)
        assert response.status_code == 403, (method, url)
        assert "scope" in response.json()["errors"][0]["message"]


def test_lists_show_only_what_the_key_may_see(api, owner, outsider, scored):
    _customer(owner=outsider, name="Elsewhere")
    response = call(api, "GET", "/api/v1/accounts", key_for(owner))
    assert [a["name"] for a in response.json()["results"]] == ["Acme Bank"]
    service = call(api, "GET", "/api/v1/accounts", key_for(None))
    assert len(service.json()["results"]) == 2


def test_upserting_an_account_twice_leaves_one_row_and_the_same_answer(api):
    key = key_for(None)
    body = {
        "name": "Globex",
        "priority": 1,
        "lifecycle_stage": "adoption",
        "customer_since": "2025-03-01",
        "strategy": "Land CI",
    }
    first = call(api, "PUT", "/api/v1/accounts/by-external-id/0015g00000GLOBEX01", key, body)
    again = call(api, "PUT", "/api/v1/accounts/by-external-id/0015g00000GLOBEX01", key, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert Account.objects.filter(crm_id="0015g00000GLOBEX01").count() == 1


def test_mass_assignment_of_owner_id_and_scores_is_ignored(api, owner, outsider, scored):
    key = key_for(owner)
    response = call(
        api,
        "PUT",
        f"/api/v1/accounts/by-external-id/{scored.crm_id}",
        key,
        {
            "name": "Acme Bank",
            "owner": outsider.username,
            "id": 999,
            "crm_id": "HACKED",
            "health_score": 100,
        },
    )
    assert response.status_code == 200
    scored.refresh_from_db()
    assert scored.owner == owner
    assert scored.crm_id != "HACKED"
    assert not Account.objects.filter(pk=999).exists()


def test_only_service_keys_and_admins_create_accounts(api, owner, admin_user):
    body = {"name": "New Co"}
    assert (
        call(api, "PUT", "/api/v1/accounts/by-external-id/NEW1", key_for(owner), body).status_code
        == 403
    )
    assert (
        call(
            api, "PUT", "/api/v1/accounts/by-external-id/NEW1", key_for(admin_user), body
        ).status_code
        == 201
    )


def test_subscription_and_instance_upserts_are_idempotent(api, scored):
    key = key_for(None)
    body = {
        "account": scored.crm_id,
        "plan": "ultimate",
        "licensed_seats": 250,
        "arr": "9000.00",
        "start_date": "2025-01-01",
        "renewal_date": "2027-01-01",
        "license_id": "L-1",
    }
    url = "/api/v1/subscriptions/by-external-id/SUB-NEW"
    assert call(api, "PUT", url, key, body).status_code == 201
    assert call(api, "PUT", url, key, body).status_code == 200
    assert Subscription.objects.filter(external_id="SUB-NEW").count() == 1
    url = "/api/v1/instances/by-uuid/u-new"
    body = {"account": scored.crm_id, "subscription": "SUB-NEW", "instance_type": "production"}
    assert call(api, "PUT", url, key, body).status_code == 201
    assert call(api, "PUT", url, key, body).json()["subscription"] == "SUB-NEW"
    assert Instance.objects.filter(uuid="u-new").count() == 1


def test_bad_input_is_a_400_naming_the_field(api, scored):
    key = key_for(None)
    response = call(
        api,
        "PUT",
        "/api/v1/subscriptions/by-external-id/SUB-X",
        key,
        {
            "account": scored.crm_id,
            "licensed_seats": -3,
            "arr": "x",
            "start_date": "2025-01-01",
            "renewal_date": "2024-01-01",
        },
    )
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"licensed_seats", "arr"} <= fields


def test_health_explains_every_measure(api, owner, scored):
    response = call(api, "GET", f"/api/v1/accounts/{scored.pk}/health", key_for(owner))
    body = response.json()
    assert body["scorecard_version"] == 1
    ci = next(line for line in body["ledger"] if line["key"] == "ci_pipeline_users")
    assert {"value", "colour", "points", "band", "inputs"} <= set(ci)


def test_a_sentiment_through_the_api_recomputes_health(
    api, owner, scored, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = call(
            api,
            "POST",
            f"/api/v1/accounts/{scored.pk}/activities",
            key_for(owner),
            {"kind": "sentiment", "sentiment": "red", "body": "Escalation"},
        )
    assert response.status_code == 201
    health = call(api, "GET", f"/api/v1/accounts/{scored.pk}/health", key_for(owner)).json()
    assert health["overall_colour"] == "red"


def test_closing_an_objective_without_outcome_is_a_400(api, owner, scored):
    objective = Objective.objects.create(account=scored, title="CI")
    response = call(
        api,
        "POST",
        f"/api/v1/objectives/{objective.pk}/close",
        key_for(owner),
        {"status": "achieved", "outcome_summary": ""},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "outcome_summary"


def test_alerts_are_listed_and_acknowledged(api, owner, scored):
    key = key_for(owner)
    alerts = call(api, "GET", "/api/v1/alerts", key).json()["results"]
    assert alerts
    response = call(
        api, "POST", f"/api/v1/alerts/{alerts[0]['id']}/acknowledge", key, {"note": "On it"}
    )
    assert response.json()["state"] == "acknowledged"


def test_crm_export_as_json_pages_and_as_csv(api, owner, scored):
    key = key_for(owner)
    page = call(api, "GET", "/api/v1/exports/crm?page_size=1", key).json()
    row = page["results"][0]
    assert row["crm_id"] == scored.crm_id
    assert row["use_case_ci"] == "green"
    assert row["health_colour"] in ("red", "yellow", "green")
    response = api.get("/api/v1/exports/crm?format=csv", HTTP_AUTHORIZATION=f"Api-Key {key}")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["crm_id"] == scored.crm_id


def test_crm_export_updated_since_returns_only_changed_accounts(api, scored):
    key = key_for(None)
    later = "2099-01-01T00:00:00Z"
    assert (
        call(api, "GET", f"/api/v1/exports/crm?updated_since={later}", key).json()["results"] == []
    )
    bad = call(api, "GET", "/api/v1/exports/crm?updated_since=yesterday", key)
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "updated_since"


def test_the_openapi_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/exports/crm" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    # No asset from another host (not a bare search for "cdn": the page embeds a random
    # CSRF token that can spell it).
    urls = re.findall(rb"""(?i)(?:src|href)\s*=\s*["']([^"']*)["']""", docs.content)
    assert urls
    assert not [url for url in urls if re.match(rb"(?i)(?:[a-z][a-z0-9+.-]*:)?//", url)], urls
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in urls


def test_each_key_is_throttled_with_a_json_429(api, scored, settings):
    from django.core.cache import cache

    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "api_key": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    from accounts.api_auth import ApiKeyRateThrottle

    ApiKeyRateThrottle.THROTTLE_RATES = rates
    try:
        key, other = key_for(None), key_for(None)
        codes = [call(api, "GET", "/api/v1/accounts", key).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        throttled = call(api, "GET", "/api/v1/accounts", key)
        assert throttled.json()["errors"][0]["code"] == "throttled"
        assert call(api, "GET", "/api/v1/accounts", other).status_code == 200
    finally:
        from rest_framework.settings import api_settings

        ApiKeyRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        cache.clear()
