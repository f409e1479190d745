"""Real browser: fixing holds from the order page, the point of no return counting down, a
new order with three lines, and an import report's "need you" link; screenshots of each page
at 1440 and 390 px, and no sideways scrolling on a phone."""

import datetime
import io

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import InventoryLevel, Order, Product
from orders.review import review_order

from ..conftest import PASSWORD
from .conftest import screenshot, sign_in

pytestmark = pytest.mark.e2e

WIDTHS = {"1440": (1440, 900), "390": (390, 844)}


def at_widths(page):
    """Yields the name of each width in WIDTHS after resizing the page to it, then gives the
    page back at the size it had. One signed-in page serves every width: each width's page
    is loaded after the resize, as a fresh context of that size would load it."""
    size = page.viewport_size
    for name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        yield name
    page.set_viewport_size(size)


def no_sideways_scroll(page):
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def held(make_order, number, **fields):
    order = make_order(number=number, customer_name="Ava Smith", **fields)
    review_order(order.pk)
    return Order.objects.get(pk=order.pk)


def test_fix_an_invalid_address_from_the_hold(browser_page, manager, make_order):
    order = held(make_order, "E2E-ADDR", postal_code="ABC")
    assert order.hold_reason == "invalid_address"
    with browser_page() as page:
        sign_in(page, "alice", PASSWORD)
        for name in at_widths(page):
            page.goto("/orders/E2E-ADDR/")
            expect(page.locator(".hold-detail")).to_contain_text("Postal code")
            no_sideways_scroll(page)
            screenshot(page, f"order-hold-invalid-address-{name}.png")

        page.goto("/orders/E2E-ADDR/")
        first = page.locator('[aria-label="What you can do"] [data-action]').first
        expect(first).to_have_attribute("data-action", "edit_address")
        first.click()
        page.fill("#id_postal_code", "10001")
        page.get_by_role("button", name="Save address").click()
        page.wait_for_url("**/orders/E2E-ADDR/")
        expect(page.locator(".status-card h2")).to_contain_text("Processing", timeout=15_000)

    assert Order.objects.get(pk=order.pk).status == "processing"


def test_connect_a_product_from_a_not_connected_hold_and_retry(
    browser_page, manager, make_order, products
):
    Product.objects.filter(pk=products["stock"].pk).update(connected=False)
    order = held(make_order, "E2E-CONN")
    assert order.hold_reason == "not_connected"
    with browser_page() as page:
        sign_in(page, "alice", PASSWORD)
        for name in at_widths(page):
            page.goto("/orders/E2E-CONN/")
            expect(page.locator(".hold-detail")).to_contain_text("TEE-1 (Tee) is not connected")
            no_sideways_scroll(page)
            screenshot(page, f"order-hold-not-connected-{name}.png")
            page.goto("/products/")
            no_sideways_scroll(page)
            screenshot(page, f"products-{name}.png")

        page.goto("/orders/E2E-CONN/")
        page.locator('[data-action="products"]').click()
        page.locator(f"#product-{products['stock'].pk} [data-action=connect]").click()
        waiting = page.locator("#waiting")
        expect(waiting).to_contain_text("E2E-CONN")
        waiting.locator("[data-action=retry-waiting]").click()
        page.wait_for_url("**/orders/E2E-CONN/")
        expect(page.locator(".status-card h2")).to_contain_text("Processing", timeout=15_000)

    assert Order.objects.get(pk=order.pk).status == "processing"


def test_out_of_stock_hold_screenshots(browser_page, manager, make_order, products):
    InventoryLevel.objects.filter(product=products["stock"]).update(on_hand=1)
    order = held(make_order, "E2E-STOCK", quantity=3)
    assert order.hold_reason == "insufficient_inventory"
    with browser_page() as page:
        sign_in(page, "alice", PASSWORD)
        for name in at_widths(page):
            page.goto("/orders/E2E-STOCK/")
            expect(page.locator(".hold-detail")).to_contain_text("TEE-1: 3 needed")
            no_sideways_scroll(page)
            screenshot(page, f"order-hold-out-of-stock-{name}.png")


def test_the_countdown_counts_down(browser_page, manager, make_order, drive):
    order = drive(make_order(number="E2E-SOON"), "processing")
    soon = timezone.now() + datetime.timedelta(minutes=30, seconds=30)
    Order.objects.filter(pk=order.pk).update(no_return_by=soon)
    with browser_page() as page:
        page.clock.install()
        sign_in(page, "alice", PASSWORD)
        page.goto("/orders/E2E-SOON/")
        countdown = page.locator("[data-countdown]")
        expect(page.locator(".no-return")).to_contain_text(
            "You can cancel or change this order until it is labelled"
        )
        expect(countdown).to_have_text("in 30 min")
        page.clock.fast_forward("10:00")
        expect(countdown).to_have_text("in 20 min")
        screenshot(page, "order-countdown.png")


def test_create_an_order_with_three_lines(browser_page, manager, products):
    merchant = products["stock"].merchant
    Product.objects.filter(pk=products["stock"].pk).update(price="20.00")
    Product.objects.create(merchant=merchant, sku="CAP-1", name="Cap", price="8.00")
    Product.objects.create(merchant=merchant, sku="SOCK-1", name="Socks", price="5.50")
    with browser_page(width=1440) as page:
        sign_in(page, "alice", PASSWORD)
        for name in at_widths(page):
            page.goto("/new-order/")
            no_sideways_scroll(page)
            screenshot(page, f"new-order-{name}.png")

        page.goto("/new-order/")
        page.fill("#id_number", "E2E-HAND")
        page.fill("#id_customer_name", "Ava Smith")
        page.fill("#id_customer_email", "ava@example.com")
        page.fill("#id_ship_name", "Ava Smith")
        page.fill("#id_address1", "1 Market Street")
        page.fill("#id_city", "New York")
        page.fill("#id_region", "NY")
        page.fill("#id_postal_code", "10001")
        page.select_option("#id_country", "US")
        # First line: the empty one, chosen from its menu.
        page.select_option("#id_form-0-product", label="TEE-1 · Tee · 20.00")
        page.fill("#id_form-0-quantity", "2")
        # Second and third: found by search.
        # Each pick adds a line and then clears the search: wait for the line before searching
        # again, as a person sees it appear (typing earlier is cleared by the swap).
        for lines, (query, sku) in enumerate((("cap", "CAP-1"), ("sock", "SOCK-1")), start=2):
            page.fill("#product-search", query)
            page.locator("#product-results").get_by_role("button", name=sku).click()
            expect(page.locator("[data-line]:not([hidden])")).to_have_count(lines)
        expect(page.locator("[data-order-total]")).to_have_text("53.50")
        # Remove one, add it back.
        page.locator("[data-line]").nth(2).locator("[data-remove-line]").click()
        expect(page.locator("[data-order-total]")).to_have_text("48.00")
        page.fill("#product-search", "sock")
        page.locator("#product-results").get_by_role("button", name="SOCK-1").click()
        expect(page.locator("[data-order-total]")).to_have_text("53.50")
        # A field's problem is said when it is left.
        page.fill("#id_customer_email", "not-an-email")
        page.locator("#id_customer_phone").focus()
        expect(page.locator("#id_customer_email ~ [data-field-error]")).to_be_visible()
        # ...and it goes as soon as the field is right, while the person is still in it.
        page.fill("#id_customer_email", "ava@example.com")
        expect(page.locator("#id_customer_email ~ [data-field-error]")).to_be_hidden()
        screenshot(page, "new-order-filled-1440.png")
        page.get_by_role("button", name="Submit for review").click()
        expect(page.locator(".message-success")).to_contain_text("E2E-HAND submitted")

    order = Order.objects.get(number="E2E-HAND")
    assert sorted((line.sku, line.quantity) for line in order.lines.all()) == [
        ("CAP-1", 1),
        ("SOCK-1", 1),
        ("TEE-1", 2),
    ]


def test_upload_a_csv_and_follow_the_need_you_link(browser_page, manager, products, centers):
    from tests.test_import import csv_text

    text = csv_text(
        {"order_number": "E2E-IMP-1"},
        {"order_number": "E2E-IMP-2", "postal_code": "1"},
        {"order_number": "E2E-IMP-3", "quantity": "many"},
    )
    path = io.BytesIO(text.encode())
    with browser_page(width=1440) as page:
        sign_in(page, "alice", PASSWORD)
        for name in at_widths(page):
            page.goto("/imports/")
            no_sideways_scroll(page)
            screenshot(page, f"imports-{name}.png")

        page.goto("/imports/")
        page.set_input_files(
            "#id_file",
            files=[{"name": "week.csv", "mimeType": "text/csv", "buffer": path.getvalue()}],
        )
        page.get_by_role("button", name="Upload and import").click()
        summary = page.locator("[data-import-summary]")
        expect(summary).to_contain_text(
            "2 created: 1 processing, 1 need you — 1 invalid address", timeout=20_000
        )
        screenshot(page, "import-report-1440.png")
        page.set_viewport_size({"width": 390, "height": 844})
        no_sideways_scroll(page)
        screenshot(page, "import-report-390.png")
        page.set_viewport_size({"width": 1440, "height": 900})
        page.locator('[data-need-you="invalid_address"]').click()
        page.wait_for_url("**/orders/?batch=*")
        expect(page.locator("table.orders td.col-number")).to_have_count(1)
        expect(page.get_by_role("link", name="E2E-IMP-2")).to_be_visible()
