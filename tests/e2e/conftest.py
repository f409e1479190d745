"""Real-browser tests: Playwright's sync API driving Debian's chromium against pytest-django's
live_server.

Without /usr/bin/chromium every test here is skipped with a reason saying so; with it, none
is. Playwright's sync API runs an asyncio loop while its context is open, and Django refuses
database calls from inside a running loop, so the tests set up data before opening the
browser and check the database after closing it (no DJANGO_ALLOW_ASYNC_UNSAFE needed).
"""

import contextlib
import os
import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DOCS_VIEWPORT = {"width": 1100, "height": 640}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} not found: install Debian's chromium to run the browser tests"
    )
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)
            if not os.path.exists(CHROMIUM):
                item.add_marker(skip)


@pytest.fixture
def browser_page(live_server):
    """browser_page(javascript=True) -> a context manager yielding a Playwright page whose
    relative URLs go to the live server."""

    @contextlib.contextmanager
    def open_page(javascript=True, width=1280, height=900):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            try:
                context = browser.new_context(
                    base_url=live_server.url,
                    java_script_enabled=javascript,
                    viewport={"width": width, "height": height},
                )
                context.set_default_timeout(10_000)
                page = context.new_page()
                # The pages run under an enforced Content-Security-Policy: anything it blocks
                # (an inline script or style, eval in htmx) fails the test.
                blocked = []
                page.on(
                    "console",
                    lambda message: (
                        blocked.append(message.text)
                        if "Content Security Policy" in message.text
                        else None
                    ),
                )
                yield page
                assert not blocked, "\n".join(blocked)
            finally:
                browser.close()

    return open_page


def sign_in(page, username, password, *, landing=False):
    """Sign in; then on the plain order list, or with landing=True where the dashboard
    landed (its Waiting on you view when something waits on the merchant)."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    # The list, or its Waiting on you view when something waits on the merchant.
    page.wait_for_url(re.compile(r"/orders/(\?view=waiting_on_you)?$"))
    if not landing and "view=waiting_on_you" in page.url:
        page.goto("/orders/")


def screenshot(page, name, docs=False):
    ARTIFACTS.mkdir(exist_ok=True)
    # caret="initial": hiding the caret makes Playwright inject a <style>, which the page's
    # Content-Security-Policy (rightly) blocks and the browser_page fixture reports.
    page.screenshot(path=str(ARTIFACTS / name), full_page=True, caret="initial")
    if docs and os.environ.get("DOCS_SCREENSHOTS"):
        # `make screenshots`: the README's small pictures, the top of the page at laptop size.
        size = page.viewport_size
        page.set_viewport_size(DOCS_VIEWPORT)
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name), caret="initial")
        page.set_viewport_size(size)


@pytest.fixture(autouse=True)
def orders_stay_where_the_test_puts_them():
    """live_server tests commit for real, so every order created or sent back to Import Review
    here would be reviewed at once (and usually accepted). The browser tests build exact
    states themselves; the review step has its own tests (tests/test_review.py). Requests
    served by the live server run in its own thread and still review as in production."""
    from orders.tasks import reviews_deferred

    with reviews_deferred():
        yield
