"""One headless Debian chromium per test, driven by Playwright (it never downloads a browser)."""

import os

import pytest
from django.db import connections

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright runs a loop
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page(accept_downloads=True, viewport={"width": 1300, "height": 900})
        page.set_default_timeout(15_000)
        try:
            yield page
            browser.close()
        finally:
            # While Playwright's loop runs, Django keeps this thread's connections apart
            # from the ones it uses outside the loop: close them here, or the test
            # database cannot be dropped at the end of the run.
            connections.close_all()
