"""A manager's insights and a customer's shared report, in a real browser."""

import csv
import shutil

import pytest

from scoring.health import accounts_recompute
from tests.browser.conftest import CHROMIUM
from tests.scoring.test_health import _customer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"{CHROMIUM} not installed"),
]


def _sign_in(page, url, username):
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")


def test_a_manager_filters_insights_to_a_team_and_downloads_a_csv(
    live_server, browser_page, owner, manager, outsider, tmp_path
):
    ours = [_customer(owner=owner, name=name) for name in ("Acme Bank", "Beta Corp")]
    theirs = _customer(owner=outsider, name="Zeta Ltd")
    accounts_recompute(account_ids=[a.pk for a in [*ours, theirs]])
    page = browser_page
    _sign_in(page, live_server.url, "erin")

    page.click("nav >> text=Insights")
    assert page.locator("h1").inner_text().startswith("Insights")
    page.select_option("form.filters select[name=team]", str(owner.team_id))
    page.click("form.filters button[type=submit]")
    assert f"team={owner.team_id}" in page.url
    assert page.locator("section.insight").count() == 9
    assert page.locator("#health svg").is_visible()

    with page.expect_download() as download:
        page.click("#health a:has-text('CSV')")
    path = tmp_path / "health.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(path.open()))
    latest = rows[-1]
    scored = sum(int(latest[f"{c} accounts"]) for c in ("Red", "Yellow", "Green", "No score"))
    assert scored == 2  # the team's two accounts, not the outsider's


def test_a_csm_shares_a_report_that_opens_without_a_login(live_server, browser_page, owner):
    acme = _customer(owner=owner, name="Acme Bank")
    accounts_recompute(account_ids=[acme.pk])
    page = browser_page
    _sign_in(page, live_server.url, "alice")

    page.goto(f"{live_server.url}/accounts/{acme.pk}/")
    page.fill("#reports input[name=label]", "QBR with the platform team")
    page.click("#reports button:has-text('Create a read-only link')")
    link = page.locator("#reports input.link-copy").first.input_value()
    assert "/r/" in link

    stranger = page.context.browser.new_context()  # no cookies: a customer's browser
    customer_page = stranger.new_page()
    customer_page.goto(link)
    assert customer_page.locator("h1").inner_text() == "Acme Bank"
    assert "Success report" in customer_page.content()
    assert "Sign out" not in customer_page.content()
    stranger.close()

    page.reload()
    assert page.locator("#reports tbody td").nth(4).inner_text() == "1"  # the view counted
    page.click("#reports button:has-text('Revoke')")
    gone = page.context.browser.new_context().new_page()
    gone.goto(link)
    assert "no longer available" in gone.content()
