"""Staff in a real browser: an order page left open while the merchant changes the address in
another browser is refused on save, saying what changed; the stock page takes a receipt."""

import pytest
from playwright.sync_api import expect

from orders.models import InventoryLevel, Order

from ..conftest import PASSWORD
from .conftest import screenshot, sign_in

pytestmark = pytest.mark.e2e


def _admin_sign_in(page, username):
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


@pytest.mark.parametrize("width", [1440, 390])
def test_stale_order_page_is_refused_with_what_changed(
    browser_page, live_server, staff, manager, make_order, drive, width
):
    order = drive(make_order(number="E2E-STALE"), "processing")
    with browser_page(width=width) as page:
        # The merchant works in a browser of their own (another context: other cookies).
        merchant_page = page.context.browser.new_context(base_url=live_server.url).new_page()
        _admin_sign_in(page, staff.username)
        page.goto(f"/admin/orders/order/{order.pk}/change/")
        # Meanwhile the merchant edits the address on the dashboard.
        sign_in(merchant_page, manager.username, PASSWORD)
        merchant_page.goto("/orders/E2E-STALE/address/")
        merchant_page.fill("#id_address1", "500 Fifth Avenue")
        merchant_page.get_by_role("button", name="Save address").click()
        merchant_page.wait_for_url("**/orders/E2E-STALE/")
        # Staff, on the page opened before, add an address line and save.
        page.fill("#id_address2", "Apt 4")
        page.click("input[name=_save]")
        error = page.locator(".errornote, ul.errorlist.nonfield")
        expect(error.first).to_be_visible()
        expect(page.locator("ul.errorlist.nonfield")).to_contain_text(
            "Address line 1: 1 Market Street → 500 Fifth Avenue"
        )
        expect(page.locator("ul.errorlist.nonfield")).to_contain_text("Nothing was saved")
        screenshot(page, f"admin-stale-order-{width}.png")
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.address1, fresh.address2) == ("500 Fifth Avenue", "")


@pytest.mark.parametrize("width", [1440, 390])
def test_stock_page_takes_a_receipt(browser_page, staff, products, centers, width):
    level = InventoryLevel.objects.get(center=centers[0], product=products["stock"])
    with browser_page(width=width) as page:
        _admin_sign_in(page, staff.username)
        page.goto(f"/admin/orders/inventorylevel/{level.pk}/change/")
        screenshot(page, f"admin-stock-{width}.png")
        page.fill("#id_received", "12")
        page.click("input[name=_save]")
        expect(page.locator(".messagelist")).to_contain_text("received 12; on hand is now 112")
    assert InventoryLevel.objects.get(pk=level.pk).on_hand == 112
