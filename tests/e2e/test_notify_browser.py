"""Real browser: a manager adds a webhook endpoint, sends a test event and sees it delivered
(to a receiver that verifies the signature with standardwebhooks) in the delivery log; the
bell in the header counts up when an order is held."""

import pytest
from playwright.sync_api import expect

from orders import notify
from orders.webhooks.models import WebhookDelivery
from orders.webhooks.sending import deliver_due

from ..conftest import PASSWORD
from ..dashboard_helpers import hold
from ..test_webhook_delivery import Receiver
from .conftest import screenshot, sign_in
from .test_dashboard_browser import _in_another_thread

pytestmark = pytest.mark.e2e


def test_manager_adds_an_endpoint_sends_a_test_event_and_sees_it_delivered(
    browser_page, manager, merchant
):
    # The worker's two steps (dispatch the event, send the delivery) run from the test while
    # the page is idle: the test database is one in-memory SQLite shared by the live server's
    # thread, where a background sender racing a page load fails with "table is locked"
    # (a file database, as `make run` and production use, waits for the lock instead).
    receiver = Receiver("whsec_" + "QUJD" * 11)
    try:
        with browser_page(width=1440) as page:
            sign_in(page, "alice", PASSWORD)
            page.get_by_role("link", name="Settings").click()
            page.wait_for_url("**/settings/webhooks/")
            page.fill("#id_url", receiver.url)
            page.get_by_label("order.held").check()
            page.get_by_role("button", name="Add endpoint").click()
            expect(page.locator(".message-success")).to_contain_text("Endpoint added")
            secret = page.locator("[data-secret]").inner_text().strip()
            assert secret.startswith("whsec_")
            receiver.secret = secret  # the receiver verifies with the secret shown once
            page.get_by_role("button", name="Send test event").click()
            expect(page.locator(".message-success")).to_contain_text("Test event queued")
            _in_another_thread(lambda: (notify.dispatch_events(), deliver_due()))
            page.reload()
            delivered = page.locator("table.deliveries .badge", has_text="Delivered")
            expect(delivered).to_have_count(1)
            row = page.locator("table.deliveries tr.delivery").first
            expect(row).to_contain_text("webhook.test")
            row.locator("summary").first.click()
            expect(row).to_contain_text("200")
            expect(row.locator("pre.response")).to_contain_text('{"ok": true}')
            screenshot(page, "webhook-endpoint-1440.png")
            page.set_viewport_size({"width": 390, "height": 844})
            screenshot(page, "webhook-endpoint-390.png")
            page.goto("/settings/webhooks/")
            screenshot(page, "webhook-endpoints-390.png")
            page.goto("/settings/notifications/")
            expect(page.locator("input[name='order.held'][value='immediately']")).to_be_checked()
            screenshot(page, "email-settings-390.png")
    finally:
        receiver.close()
    assert [payload["type"] for _h, payload in receiver.received] == ["webhook.test"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "delivered"
    assert receiver.received[0][0]["webhook-id"] == delivery.msg_id


def test_the_bell_counts_up_when_an_order_is_held(
    browser_page, manager, merchant, staff, make_order
):
    order = make_order(number="E2E-BELL")
    notify.mark_read(manager, merchant)
    with browser_page(width=1440) as page:
        page.clock.install()
        sign_in(page, "alice", PASSWORD)
        bell = page.locator("#inbox-bell")
        expect(bell).to_be_visible()
        # The bell asks for its count once on load and swaps itself for the answer, a bell
        # polled only every 10 seconds. Wait for that answer first: arriving after the hold,
        # it would replace the bell whose poll sees the hold, and the next poll is 10 s away.
        expect(page.locator('#inbox-bell[hx-trigger="every 10s"]')).to_have_count(1)
        expect(page.locator(".bell-count")).to_have_count(0)
        _in_another_thread(lambda: hold(order, staff))
        page.clock.run_for(11_000)  # the bell polls every 10 seconds
        expect(page.locator(".bell-count")).to_have_text("1 unread")
        screenshot(page, "bell-1440.png")
        bell.click()
        page.wait_for_url("**/inbox/")
        expect(page.locator(".inbox-item.unread")).to_contain_text("E2E-BELL is on hold")
        page.get_by_role("button", name="Mark all read").click()
        expect(page.locator(".inbox-item.unread")).to_have_count(0)
        page.set_viewport_size({"width": 390, "height": 844})
        screenshot(page, "inbox-390.png")
