"""The CSM pages: role rules, filters, exports, forms and bounded queries."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountUseCase, Activity, ChecklistItem, ChecklistProgress, Objective
from scoring.health import accounts_recompute
from scoring.models import Alert, ScoreSnapshot
from tests.factories import AccountFactory, ObjectiveFactory
from tests.scoring.test_health import _customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(owner):
    """The owner's account with usage and a score."""
    customer = _customer(owner=owner, name="Acme Bank")
    accounts_recompute(account_ids=[customer.pk])
    return customer


def _pages(account) -> list[str]:
    return [reverse("account-detail", args=[account.pk])]


def _posts(account):
    item = ChecklistItem.objects.filter(kind="manual").first()
    objective = ObjectiveFactory(account=account)
    link = AccountUseCase.objects.filter(account=account).first()
    return [
        (reverse("activity-add", args=[account.pk]), {"kind": "note", "body": "hi"}),
        (reverse("checklist-tick", args=[account.pk, item.pk]), {"done": "1"}),
        (
            reverse("objective-add", args=[account.pk]),
            {"title": "x", "category": "adoption", "priority": 2, "status": "active"},
        ),
        (
            reverse("objective-close", args=[account.pk, objective.pk]),
            {"status": "achieved", "outcome_summary": "done"},
        ),
        (
            reverse("use-case-override", args=[account.pk, link.use_case_id]),
            {"status": "adopted", "reason": "r"},
        ),
    ]


def test_anonymous_visitors_are_sent_to_login(client, scored):
    for url in (
        reverse("portfolio"),
        reverse("adoption"),
        reverse("alerts"),
        reverse("portfolio-csv"),
        *_pages(scored),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_login_page_renders_and_signs_in(client, owner):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login"), {"username": "alice", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert response.url == reverse("portfolio")


def test_wrong_password_keeps_the_username_and_says_why(client, owner):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert b"correct username and password" in response.content
    assert b'value="alice"' in response.content


def test_outsider_gets_404_on_every_account_page_and_action(client, outsider, scored):
    client.force_login(outsider)
    for url in _pages(scored):
        assert client.get(url).status_code == 404
    for url, data in _posts(scored):
        assert client.post(url, data).status_code == 404, url
    alert = Alert.objects.create(
        account=scored,
        kind="instance_silent",
        measure="x",
        severity="info",
        message="m",
        opened_at=timezone.now(),
    )
    assert (
        client.post(reverse("alert-handle", args=[alert.pk]), {"action": "close"}).status_code
        == 404
    )
    assert b"Acme Bank" not in client.get(reverse("portfolio") + "?scope=team").content


def test_teammate_reads_but_sees_no_edit_controls_and_cannot_post(client, teammate, scored):
    client.force_login(teammate)
    page = client.get(reverse("account-detail", args=[scored.pk]))
    assert page.status_code == 200
    assert b"activity-form" not in page.content
    assert b"Override status" not in page.content
    for url, data in _posts(scored):
        assert client.post(url, data).status_code == 403, url


@pytest.mark.parametrize("who", ["owner", "manager", "admin_user"])
def test_owner_manager_and_admin_see_edit_controls(client, request, who, scored):
    client.force_login(request.getfixturevalue(who))
    page = client.get(reverse("account-detail", args=[scored.pk]))
    assert b"activity-form" in page.content


def test_the_account_page_explains_every_measure(client, owner, scored):
    client.force_login(owner)
    page = client.get(reverse("account-detail", args=[scored.pk])).content.decode()
    for text in (
        "Pipeline users ÷ billable",
        "License utilization",
        "CSM sentiment",
        "Days since last meeting",
        "Contribution",
        "green ≥",
        "scorecard v1",
    ):
        assert text in page


def test_portfolio_shows_my_accounts_and_the_team_on_request(client, owner, teammate, scored):
    AccountFactory(name="Teammate Co", owner=teammate)
    client.force_login(owner)
    mine = client.get(reverse("portfolio")).content.decode()
    assert "Acme Bank" in mine
    assert "Teammate Co" not in mine
    team = client.get(reverse("portfolio"), {"scope": "team"}).content.decode()
    assert "Teammate Co" in team


def test_portfolio_filters_by_colour_search_and_owner(client, owner, teammate, scored):
    AccountFactory(name="Quiet Ltd", owner=teammate)
    client.force_login(owner)
    colour = ScoreSnapshot.objects.get(account=scored).overall_colour
    assert (
        "Acme Bank"
        in client.get(reverse("portfolio"), {"scope": "team", "colour": colour}).content.decode()
    )
    page = client.get(reverse("portfolio"), {"scope": "team", "colour": "none"}).content.decode()
    assert "Quiet Ltd" in page
    assert "Acme Bank" not in page
    page = client.get(reverse("portfolio"), {"scope": "team", "q": scored.crm_id[-6:]}).content
    assert b"Acme Bank" in page
    assert b"Quiet Ltd" not in page
    page = client.get(reverse("portfolio"), {"owner": "bob"}).content
    assert b"Quiet Ltd" in page
    assert b"Acme Bank" not in page


def test_csv_export_has_exactly_the_filtered_rows_across_pages(client, owner):
    for i in range(60):
        AccountFactory(owner=owner, name=f"Bulk {i:02d}", lifecycle_stage="adoption")
    AccountFactory(owner=owner, name="Onboarding One", lifecycle_stage="onboarding")
    client.force_login(owner)
    response = client.get(reverse("portfolio-csv"), {"lifecycle": "adoption"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "name"
    assert len(rows) == 61
    assert {r[0] for r in rows[1:]} == {f"Bulk {i:02d}" for i in range(60)}


def test_portfolio_query_count_does_not_grow_with_accounts(
    client, owner, django_assert_max_num_queries
):
    client.force_login(owner)

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("portfolio"), {"sort": "-score"}).status_code == 200
        return len(queries)

    accounts_recompute(account_ids=[_customer(owner=owner).pk for _ in range(3)])
    few = count()
    accounts_recompute(account_ids=[_customer(owner=owner).pk for _ in range(9)])
    assert count() == few
    assert few <= 12


def test_account_page_query_count_does_not_grow_with_history(client, owner, scored):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(owner)
    ObjectiveFactory(account=scored)
    url = reverse("account-detail", args=[scored.pk])
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for weeks in range(1, 8):
        accounts_recompute(
            account_ids=[scored.pk], as_of=timezone.localdate() - dt.timedelta(weeks=weeks)
        )
        ObjectiveFactory(account=scored)
    with CaptureQueriesContext(connection) as after:
        client.get(url)
    assert len(after) == len(before)
    assert len(after) <= 30


def test_a_red_sentiment_turns_the_account_red(
    client, owner, scored, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("activity-add", args=[scored.pk]),
            {"kind": "sentiment", "sentiment": "red", "body": "Escalation"},
        )
    assert response.status_code == 302
    latest = ScoreSnapshot.objects.filter(account=scored).order_by("-computed_at").first()
    assert latest.overall_colour == "red"
    assert latest.sentiment_override or latest.overall_score < 50


def test_an_invalid_sentiment_keeps_what_was_typed_and_says_why(client, owner, scored):
    client.force_login(owner)
    response = client.post(
        reverse("activity-add", args=[scored.pk]),
        {"kind": "sentiment", "body": "Budget cut rumours"},
    )
    assert response.status_code == 400
    assert b"Choose red, yellow or green." in response.content
    assert b"Budget cut rumours" in response.content
    assert not Activity.objects.filter(kind="sentiment", account=scored).exists()


def test_objectives_are_created_and_closed_only_with_an_outcome(client, owner, scored):
    client.force_login(owner)
    client.post(
        reverse("objective-add", args=[scored.pk]),
        {
            "title": "CI for all teams",
            "category": "adoption",
            "priority": 2,
            "status": "active",
            "metric_key_path": "usage_activity_by_stage_monthly.verify.ci_pipelines",
            "comparison": "gte",
            "target_value": 80,
        },
    )
    objective = Objective.objects.get(title="CI for all teams")
    url = reverse("objective-close", args=[scored.pk, objective.pk])
    refused = client.post(url, {"status": "achieved", "outcome_summary": ""})
    assert refused.status_code == 400
    assert b"outcome summary" in refused.content
    client.post(url, {"status": "achieved", "outcome_summary": "All 12 teams build in CI."})
    objective.refresh_from_db()
    assert objective.status == "achieved"


def test_manual_items_tick_and_metric_items_refuse(client, owner, scored):
    client.force_login(owner)
    manual = ChecklistItem.objects.filter(kind="manual", use_case__key="ci").first()
    client.post(reverse("checklist-tick", args=[scored.pk, manual.pk]), {"done": "1"})
    assert ChecklistProgress.objects.get(item=manual, account_use_case__account=scored).done
    metric = ChecklistItem.objects.filter(kind="metric", use_case__key="ci").first()
    before = ChecklistProgress.objects.filter(item=metric).count()
    client.post(reverse("checklist-tick", args=[scored.pk, metric.pk]), {"done": "0"}, follow=True)
    assert ChecklistProgress.objects.filter(item=metric).count() == before


def test_override_needs_a_reason_and_is_recorded_on_the_timeline(client, owner, scored):
    client.force_login(owner)
    link = AccountUseCase.objects.get(account=scored, use_case__key="cd")
    url = reverse("use-case-override", args=[scored.pk, link.use_case_id])
    assert client.post(url, {"status": "adopted", "reason": ""}).status_code == 400
    client.post(url, {"status": "adopted", "reason": "Deploys from their own tool via API."})
    link.refresh_from_db()
    assert (link.status, link.override_status) == ("adopted", "adopted")
    assert Activity.objects.filter(
        account=scored, kind="system", body__contains="Deploys from their own tool"
    ).exists()


def test_alerts_inbox_acknowledges_and_closes_with_a_note(client, owner, scored):
    alert = Alert.objects.create(
        account=scored,
        kind="instance_silent",
        measure="x",
        severity="info",
        message="Utilization 93%",
        opened_at=timezone.now(),
    )
    client.force_login(owner)
    assert b"Utilization 93%" in client.get(reverse("alerts")).content
    url = reverse("alert-handle", args=[alert.pk])
    client.post(url, {"action": "acknowledge", "note": "Talking to procurement"})
    alert.refresh_from_db()
    assert alert.state == "acknowledged"
    response = client.post(url, {"action": "close", "next": "https://evil.example/"})
    assert response.url == reverse("alerts")
    alert.refresh_from_db()
    assert alert.state == "closed"
    assert alert.note == "Talking to procurement"


def test_adoption_heatmap_labels_every_colour_in_words(client, owner, scored):
    client.force_login(owner)
    page = client.get(reverse("adoption")).content.decode()
    assert "Acme Bank" in page
    assert "Source code management (SCM)" in page
    assert any(word in page for word in ("Green", "Yellow", "Red", "No data"))
