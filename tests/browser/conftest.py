"""Real Chromium (Debian's package) driven by Playwright. Skips on a laptop without
Chromium; fails in CI, where HUB_REQUIRE_SERVICES=1."""

import os
import shutil

import pytest

from tests.services import require


@pytest.fixture(scope="session")
def browser(_async_unsafe_allowed):
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


@pytest.fixture(scope="session")
def _async_unsafe_allowed():
    # Playwright's sync API keeps an event loop running in this thread, which Django takes for
    # async code; the tests' own ORM calls are synchronous, so that guard is lifted while the
    # browser runs, and restored after.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield page
    context.close()
