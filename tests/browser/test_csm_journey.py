"""A CSM's day in a real browser: Debian's chromium driven by Playwright against a live server."""

import csv
import shutil

import pytest
from django.utils import timezone

from accounts.models import ChecklistItem
from scoring.health import accounts_recompute
from tests.browser.conftest import CHROMIUM
from tests.scoring.test_health import _customer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"{CHROMIUM} not installed"),
]


def test_a_csm_works_an_account_end_to_end(live_server, browser_page, owner, teammate, tmp_path):
    acme = _customer(owner=owner, name="Acme Bank", ci_users=40)
    other = _customer(owner=owner, name="Zenith Corp", ci_users=5)
    accounts_recompute(account_ids=[acme.pk, other.pk])
    page = browser_page

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "My portfolio"

    page.fill("input[name=q]", "Acme")
    page.click("form.filters button[type=submit]")
    rows = page.locator("table.grid tbody tr")
    assert rows.count() == 1
    assert "Acme Bank" in rows.first.inner_text()

    with page.expect_download() as download:
        page.click("text=Export CSV")
    path = tmp_path / "export.csv"
    download.value.save_as(path)
    exported = list(csv.DictReader(path.open()))
    assert [row["name"] for row in exported] == ["Acme Bank"]

    page.click("text=Acme Bank")
    assert "Health breakdown" in page.content()

    manual = ChecklistItem.objects.filter(use_case__key="ci", kind="manual").first()
    page.click(f"li[data-item='{manual.pk}'] button.tick")
    assert page.locator(f"li[data-item='{manual.pk}']").get_attribute("class") == "done"

    page.click("text=Record a note, meeting, sentiment or ticket count")
    page.select_option("#activity-form select[name=kind]", "sentiment")
    page.select_option("#activity-form select[name=sentiment]", "red")
    page.fill("#activity-form textarea[name=body]", "Escalation over outages")
    page.click("#activity-form button[type=submit]")
    assert page.locator("h1 .rag").inner_text() == "Red"
    assert "Escalation over outages" in page.locator("#timeline").inner_text()

    page.click("#objectives summary:has-text('New objective')")
    page.fill("#id_title", "Every team on CI")
    page.select_option("#id_status", "active")
    page.fill("#id_due_date", (timezone.localdate()).isoformat())
    page.click("#objectives form button:has-text('Add objective')")
    objective = page.locator("li[data-objective]", has_text="Every team on CI")
    objective.locator("summary:has-text('Close')").click()
    objective.locator("button:has-text('Close objective')").click()
    assert "outcome summary" in page.content().lower()  # refused: kept open, said why
    objective = page.locator("li[data-objective]", has_text="Every team on CI")
    objective.locator("select[name=status]").select_option("achieved")
    objective.locator("textarea[name=outcome_summary]").fill("All 14 teams build in CI.")
    objective.locator("button:has-text('Close objective')").click()
    assert "Outcome: All 14 teams build in CI." in page.locator("#objectives").inner_text()
