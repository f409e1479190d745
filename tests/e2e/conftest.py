"""Real-browser tests: Playwright's sync API driving Debian's chromium against pytest-django's
live_server.

Without /usr/bin/chromium every test here is skipped with a reason saying so; with it, none
is. Playwright's sync API runs an asyncio loop while its context is open, and Django refuses
database calls from inside a running loop, so the tests set up data before opening the
page and check the database after closing it (no DJANGO_ALLOW_ASYNC_UNSAFE needed).

One Chromium serves every test of a test process (starting one took about a second per
page); each page gets a fresh browser context (its own cookies, storage and cache), closed
with the page. Playwright marks its loop as running after every call, so the loop is marked
running while a page is open and unmarked when it closes: outside `with browser_page()`
the database works, inside it is refused, as with a browser per page.
"""

import asyncio
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


class _Chromium:
    """The test process's Playwright and Chromium, started on first use."""

    def __init__(self):
        self.manager = self.playwright = self.browser = self.loop = None

    def launch(self):
        from playwright.sync_api import sync_playwright

        if self.manager is None:
            self.manager = sync_playwright()
            self.playwright = self.manager.start()
            self.loop = asyncio.get_running_loop()  # Playwright's, marked running by start()
        if self.browser is None or not self.browser.is_connected():
            self.browser = self.playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
        return self.browser

    def stop(self):
        if self.manager is None:
            return
        asyncio._set_running_loop(self.loop)
        try:
            if self.browser is not None and self.browser.is_connected():
                self.browser.close()
        finally:
            self.manager.__exit__(None, None, None)
            asyncio._set_running_loop(None)


@pytest.fixture(scope="session")
def _chromium():
    chromium = _Chromium()
    yield chromium
    chromium.stop()


@pytest.fixture
def browser_page(live_server, _chromium):
    """browser_page(javascript=True) -> a context manager yielding a Playwright page whose
    relative URLs go to the live server."""

    @contextlib.contextmanager
    def open_page(javascript=True, width=1280, height=900):
        if _chromium.loop is not None:
            asyncio._set_running_loop(_chromium.loop)  # as Playwright left it
        try:
            browser = _chromium.launch()
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
                # Every context of this page's test, also one a test opened beside it.
                for context in list(browser.contexts):
                    context.close()
        finally:
            # The page is closed: the test may use the database again.
            asyncio._set_running_loop(None)

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
