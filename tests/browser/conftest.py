"""Real Chromium (Debian's package) driven by Playwright. Skips on a laptop without
Chromium; fails in CI, where HUB_REQUIRE_SERVICES=1."""

import os
import shutil

import pytest

from tests.services import require

# Playwright's sync API runs an event loop; Django's ORM is called from the test thread only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    require(executable, "Chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield page
    context.close()
