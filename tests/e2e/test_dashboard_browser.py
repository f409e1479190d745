import re
import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from orders.models import Order, StatusChange

from ..conftest import PASSWORD
from ..dashboard_helpers import fail, hold
from .conftest import ARTIFACTS, screenshot, sign_in

pytestmark = pytest.mark.e2e


def test_manager_cancels_an_action_required_order_through_the_confirmation(
    browser_page, manager, staff, make_order, drive
):
    held = hold(make_order(number="E2E-HELD", customer_name="Ava Smith"), staff)
    drive(make_order(number="E2E-SHIP", customer_name="Liam Jones"), "in_transit")
    make_order(number="E2E-NEW", customer_name="Mia Chen")

    with browser_page() as page:
        sign_in(page, "alice", PASSWORD)
        page.locator("nav.tabs").get_by_role("link", name="Action Required").click()
        page.wait_for_url("**/orders/?group=action_required")
        expect(page.locator("table.orders td.col-number")).to_have_count(1)
        page.get_by_role("link", name="E2E-HELD").click()
        expect(page.locator("h1")).to_contain_text("Order E2E-HELD")
        expect(page.locator(".status-card h2")).to_contain_text("Action Required: Invalid address")
        page.locator('[data-action="cancel"]').click()
        confirm = page.locator("#action-panel .confirm")
        expect(confirm).to_contain_text("will not be fulfilled")
        confirm.get_by_role("button", name="Yes, cancel order").click()
        expect(page.locator(".message-success")).to_contain_text("E2E-HELD cancelled")
        expect(page.locator(".status-card h2")).to_contain_text("Cancelled")
        expect(page.locator('[data-action="cancel"]')).to_have_count(0)
        screenshot(page, "order-page.png", docs=True)

    order = Order.objects.get(pk=held.pk)
    assert order.status == "cancelled"
    assert StatusChange.objects.filter(order=order, transition="cancel", actor=manager).exists()
    assert (ARTIFACTS / "order-page.png").stat().st_size > 10_000


def test_clean_swept_order_leaves_the_list(browser_page, manager, staff, make_order):
    failed = fail(make_order(number="E2E-FAILED"), staff)
    make_order(number="E2E-STAYS")

    with browser_page() as page:
        sign_in(page, "alice", PASSWORD)
        expect(page.get_by_role("link", name="E2E-FAILED")).to_be_visible()
        page.goto("/orders/E2E-FAILED/")
        page.locator('[data-action="clean_sweep"]').click()
        page.locator("#action-panel").get_by_role("button", name="Yes, clean sweep").click()
        page.wait_for_url("**/orders/")
        expect(page.locator(".message-success")).to_contain_text("left the dashboard")
        expect(page.get_by_role("link", name="E2E-FAILED")).to_have_count(0)
        expect(page.get_by_role("link", name="E2E-STAYS")).to_be_visible()

    assert Order.objects.get(pk=failed.pk).status == "clean_swept"


def test_viewer_sees_no_buttons(browser_page, viewer, make_order):
    make_order(number="E2E-VIEW")

    with browser_page() as page:
        sign_in(page, "bob", PASSWORD)
        expect(page.locator('input[name="selected"]')).to_have_count(0)
        page.get_by_role("link", name="E2E-VIEW").click()
        expect(page.locator("h1")).to_contain_text("Order E2E-VIEW")
        expect(page.locator("[data-action]")).to_have_count(0)
        expect(page.get_by_text("only managers can change it")).to_be_visible()


def test_filtering_swaps_the_table_without_a_reload(
    browser_page, manager, staff, make_order, drive
):
    for i in range(6):
        make_order(number=f"E2E-A{i}", customer_name=f"Customer {i}")
    hold(make_order(number="E2E-HOLD"), staff, reason="insufficient_inventory")
    fail(make_order(number="E2E-FAIL"), staff)
    drive(make_order(number="E2E-PICK"), "picked")
    drive(make_order(number="E2E-SHIPPED", kind="print"), "in_transit")

    with browser_page() as page:
        sign_in(page, "alice", PASSWORD)
        expect(page.locator("table.orders td.col-number")).to_have_count(10)
        screenshot(page, "order-list.png", docs=True)
        page.evaluate("window.__stillHere = true")
        page.fill("#id_q", "E2E-A")
        page.press("#id_q", "Enter")
        expect(page.locator("table.orders td.col-number")).to_have_count(6)
        assert page.url.endswith("/orders/?q=E2E-A&sort=-created")  # no empty fields
        expect(page.locator(".active-filter")).to_contain_text("Search")
        page.locator("nav.tabs").get_by_role("link", name="Processing").click()
        expect(page.locator("table.orders td.col-number")).to_have_count(0)
        page.locator(".active-filter", has_text="Search").click()
        expect(page.get_by_role("link", name="E2E-PICK")).to_be_visible()
        assert page.evaluate("window.__stillHere") is True  # swapped, never reloaded

    assert (ARTIFACTS / "order-list.png").stat().st_size > 10_000


def test_cancel_works_without_javascript(browser_page, manager, make_order):
    order = make_order(number="E2E-NOJS")

    with browser_page(javascript=False) as page:
        sign_in(page, "alice", PASSWORD)
        page.goto("/orders/E2E-NOJS/")
        page.locator('[data-action="cancel"]').click()
        page.wait_for_url(re.compile(r"/orders/E2E-NOJS/cancel/\?seen=import_review$"))
        page.get_by_role("button", name="Yes, cancel order").click()
        page.wait_for_url("**/orders/E2E-NOJS/")
        expect(page.locator(".status-card h2")).to_contain_text("Cancelled")

    assert Order.objects.get(pk=order.pk).status == "cancelled"


def _in_another_thread(work):
    """Run database work while the browser is open. Playwright's sync API keeps an asyncio
    loop running in this thread, where Django refuses database calls; a plain thread has
    none. Its connection is closed so the test database can be dropped afterwards."""
    errors = []

    def run():
        try:
            work()
        except Exception as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert not errors, errors


def test_order_page_refreshes_itself_while_visible(browser_page, manager, staff, make_order):
    order = make_order(number="E2E-LIVE")

    with browser_page() as page:
        page.clock.install()
        sign_in(page, "alice", PASSWORD)
        page.goto("/orders/E2E-LIVE/")
        expect(page.locator(".status-card h2")).to_contain_text("Import Review")
        _in_another_thread(lambda: hold(Order.objects.get(pk=order.pk), staff))
        page.clock.run_for("00:31")
        expect(page.locator(".status-card h2")).to_contain_text("Action Required")
        expect(page.locator(".order-badges")).to_contain_text("Invalid address")
