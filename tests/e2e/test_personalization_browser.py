"""A manager releases an order held for pending personalization from its page (issue 12),
at desktop and phone widths."""

import pytest
from playwright.sync_api import expect

from orders.models import Order, StatusChange
from orders.review import review_order
from orders.services import order_create

from ..conftest import PASSWORD, US_ADDRESS
from .conftest import ARTIFACTS, screenshot, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1440, 390])
def test_manager_marks_personalization_complete_and_the_order_is_accepted(
    browser_page, manager, products, centers, width
):
    order = order_create(
        merchant=products["stock"].merchant,
        by="test",
        number="E2E-PZ",
        lines=[{"sku": "TEE-1", "personalization": "Ann", "personalization_complete": False}],
        ship_option="Standard",
        **US_ADDRESS,
    )
    review_order(order.pk)

    with browser_page(width=width, height=900) as page:
        sign_in(page, "alice", PASSWORD)
        page.goto("/orders/E2E-PZ/")
        expect(page.locator(".status-card h2")).to_contain_text("Pending personalization")
        expect(page.locator('[data-action="retry"]')).to_have_count(0)
        page.locator('[data-action="complete_personalization"]').click()
        confirm = page.locator("#action-panel .confirm")
        expect(confirm).to_contain_text("once the buyer has finished")
        screenshot(page, f"personalization-confirm-{width}.png")
        confirm.get_by_role("button", name="Yes, mark personalization complete").click()
        expect(page.locator(".message-success")).to_contain_text("marked as personalized")
        expect(page.locator(".status-card h2")).to_contain_text("Processing")
        screenshot(page, f"personalization-done-{width}.png")

    after = Order.objects.get(pk=order.pk)
    assert after.status == "processing"
    assert StatusChange.objects.filter(order=after, transition="retry", actor=manager).exists()
    assert (ARTIFACTS / f"personalization-done-{width}.png").stat().st_size > 10_000
