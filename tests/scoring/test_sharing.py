"""Customer-shareable success reports: who may create and revoke them, what a customer
sees (and never sees), expiry, revocation and the view log."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import AccountUseCase, Activity, ChecklistItem, Objective
from scoring.health import accounts_recompute
from scoring.models import SharedReport, SharedReportView
from tests.factories import AccountFactory, NoteFactory, ObjectiveFactory
from tests.scoring.test_health import _customer, _ping

pytestmark = pytest.mark.django_db

INTERNAL = [
    "SECRET-NOTE",
    "SECRET-SENTIMENT",
    "SECRET-OVERRIDE",
    "SECRET-DRAFT",
    "Other Customer",
    "Health breakdown",
    "weight",
    "sentiment",
    "rag-",
    "forecast",
]


@pytest.fixture
def customer(owner):
    """A scored account carrying everything a customer must not see, next to what they may."""
    acme = _customer(owner=owner, name="Acme Bank")
    AccountFactory(owner=owner, name="Other Customer")
    NoteFactory(account=acme, body="SECRET-NOTE: churn risk, budget cut")
    Activity.objects.create(
        account=acme,
        kind="sentiment",
        sentiment="red",
        body="SECRET-SENTIMENT unhappy sponsor",
        occurred_at=timezone.now(),
    )
    ObjectiveFactory(
        account=acme,
        title="Every team on CI",
        success_criteria="All product teams run pipelines",
        status=Objective.Status.ACHIEVED,
        outcome_summary="Release cadence went from monthly to weekly",
        closed_at=timezone.now(),
    )
    ObjectiveFactory(account=acme, title="SECRET-DRAFT expansion play", status="draft")
    ObjectiveFactory(
        account=acme,
        title="Security scans on every project",
        metric_key_path="usage_activity_by_stage_monthly.secure.never_reported",
        comparison="gte",
        target_value=50,
    )
    week_ago = timezone.localdate() - dt.timedelta(days=8)
    _ping(acme.instances.get().uuid, ci_users=30, billable=80, seats=100, day=week_ago)
    accounts_recompute(account_ids=[acme.pk], as_of=week_ago)
    accounts_recompute(account_ids=[acme.pk])
    link = AccountUseCase.objects.get(account=acme, use_case__key="cd")
    link.override_status, link.status, link.reason = "adopted", "adopted", "SECRET-OVERRIDE"
    link.save()
    return acme


def _create(client, account, **data):
    data.setdefault("expires_on", (timezone.localdate() + dt.timedelta(days=30)).isoformat())
    return client.post(reverse("report-create", args=[account.pk]), data, follow=True)


def _open(client, report, **headers):
    return client.get(reverse("shared-report", args=[report.token]), **headers)


def test_a_csm_creates_a_link_and_sees_it_on_the_account_page(client, owner, customer):
    client.force_login(owner)
    response = _create(client, customer, label="QBR with the platform team")
    report = SharedReport.objects.get(account=customer)
    url = reverse("shared-report", args=[report.token])
    assert len(report.token) >= 40 and report.created_by == owner
    assert url.encode() in response.content  # in the message and the links table
    assert b"QBR with the platform team" in response.content


def test_the_report_shows_the_customer_their_adoption_objectives_and_usage(client, customer):
    report = SharedReport.objects.create(
        account=customer, token="t" * 43, expires_on=timezone.localdate()
    )
    response = _open(client, report)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Bank" in html
    assert "Continuous integration (CI)" in html
    for item in ChecklistItem.objects.filter(use_case__key="ci"):
        assert escape(item.title) in html
    assert "Every team on CI" in html and "Release cadence went from monthly to weekly" in html
    assert "licensed seats in use" in html
    assert "Now not measured yet · target ≥ 50" in html  # a metric with no value yet
    assert '<svg class="chart"' in html  # the utilization trend


def test_the_report_never_contains_internal_fields(client, customer):
    report = SharedReport.objects.create(
        account=customer, token="u" * 43, expires_on=timezone.localdate()
    )
    html = _open(client, report).content.decode()
    for secret in INTERNAL:
        assert secret.lower() not in html.lower(), secret
    snapshot = customer.snapshots.latest("as_of")
    assert f"{snapshot.overall_score:.1f}" not in html  # no score either


def test_a_report_is_read_only_uncached_and_unindexed(client, customer):
    report = SharedReport.objects.create(
        account=customer, token="v" * 43, expires_on=timezone.localdate()
    )
    response = _open(client, report)
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert b"<form" not in response.content
    assert client.post(reverse("shared-report", args=[report.token])).status_code == 405


def test_every_opening_is_logged_granted_or_not(client, customer):
    report = SharedReport.objects.create(
        account=customer, token="w" * 43, expires_on=timezone.localdate()
    )
    _open(client, report, HTTP_USER_AGENT="Customer browser", REMOTE_ADDR="203.0.113.9")
    _open(client, report)
    report.expires_on = timezone.localdate() - dt.timedelta(days=1)
    report.save()
    _open(client, report)
    views = list(SharedReportView.objects.filter(report=report).order_by("viewed_at"))
    assert [v.granted for v in views] == [True, True, False]
    assert (views[0].ip, views[0].user_agent) == ("203.0.113.9", "Customer browser")


def test_an_expired_link_shows_a_clear_page_and_no_data(client, customer):
    report = SharedReport.objects.create(
        account=customer, token="x" * 43, expires_on=timezone.localdate() - dt.timedelta(days=1)
    )
    response = _open(client, report)
    assert response.status_code == 410
    assert b"It has expired" in response.content
    assert b"Acme Bank" not in response.content


def test_a_revoked_link_dies_at_once(client, owner, customer):
    client.force_login(owner)
    _create(client, customer)
    report = SharedReport.objects.get()
    client.post(reverse("report-revoke", args=[customer.pk, report.pk]))
    client.logout()
    response = _open(client, report)
    assert response.status_code == 410
    assert b"withdrawn" in response.content and b"Acme Bank" not in response.content
    report.refresh_from_db()
    assert report.revoked_by == owner


@pytest.mark.parametrize("token", ["n" * 43, "short", "has.dots.in.it.and.more.chars"])
def test_unknown_or_malformed_tokens_404(client, customer, token):
    assert client.get(f"/r/{token}/").status_code == 404


@pytest.mark.parametrize(
    ("days", "message"),
    [(-1, b"from today on"), (400, b"at most 365 days")],
)
def test_expiry_must_be_from_today_and_within_a_year(client, owner, customer, days, message):
    client.force_login(owner)
    expires = (timezone.localdate() + dt.timedelta(days=days)).isoformat()
    response = _create(client, customer, expires_on=expires)
    assert message in response.content
    assert not SharedReport.objects.exists()


def test_only_editors_create_or_revoke_and_outsiders_get_404(
    client, owner, teammate, outsider, customer
):
    report = SharedReport.objects.create(
        account=customer, token="y" * 43, expires_on=timezone.localdate()
    )
    revoke = reverse("report-revoke", args=[customer.pk, report.pk])
    client.force_login(outsider)
    assert _create(client, customer).status_code == 404
    assert client.post(revoke).status_code == 404
    client.force_login(teammate)
    assert _create(client, customer).status_code == 403
    assert client.post(revoke).status_code == 403
    page = client.get(reverse("account-detail", args=[customer.pk])).content
    assert b"Create a read-only link" not in page and b"Revoke" not in page
    report.refresh_from_db()
    assert report.revoked_at is None and SharedReport.objects.count() == 1


def test_link_previews_are_logged_but_not_counted_as_views(client, owner, customer):
    report = SharedReport.objects.create(
        account=customer, token="z" * 43, expires_on=timezone.localdate()
    )
    _open(
        client, report, HTTP_USER_AGENT="Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
    )
    _open(client, report, HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0")
    assert SharedReportView.objects.filter(report=report).count() == 2
    client.force_login(owner)
    page = client.get(reverse("account-detail", args=[customer.pk])).content.decode()
    row = page[page.index(f'data-report="{report.pk}"') :]
    assert "<td>1</td>" in row[: row.index("</tr>")]
