"""Real browser: a Shopify export uploaded as is shows up as orders; an unknown CSV goes
through the mapping step (two columns chosen, the preview checked) and is imported."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from orders.models import ColumnMapping, ImportBatch, Order

from ..conftest import PASSWORD
from .conftest import screenshot, sign_in

pytestmark = pytest.mark.e2e

FILES = Path(__file__).parent.parent / "files"


def test_manager_uploads_a_shopify_export_and_sees_its_orders(browser_page, manager, products):
    with browser_page(width=1440) as page:
        sign_in(page, "alice", PASSWORD)
        page.goto("/imports/")
        page.set_input_files('input[type="file"]', str(FILES / "shopify_orders_export.csv"))
        page.get_by_role("button", name="Upload and import").click()
        page.wait_for_url("**/imports/*/")
        expect(page.locator("main")).to_contain_text("read as a Shopify orders export")
        expect(page.locator("main")).to_contain_text("cancelled in the store")
        expect(page.locator("main")).to_contain_text("needs no shipping (a gift card or tip)")
        screenshot(page, "import-shopify-report.png")
        page.goto("/orders/")
        for number in ["1001", "1002", "1003", "1004", "1006"]:
            expect(page.get_by_role("link", name=number, exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="1008", exact=True)).to_have_count(0)
        screenshot(page, "import-shopify-orders.png")
        page.set_viewport_size({"width": 390, "height": 844})
        page.go_back()
        # A created row has no problem: its card leaves the empty "Problem:" line out.
        empty = page.locator('td[data-label="Problem"]:empty')
        expect(empty).not_to_have_count(0)
        expect(empty.first).to_be_hidden()
        expect(page.locator('td[data-label="Problem"]:not(:empty)').first).to_be_visible()
        screenshot(page, "import-shopify-report-narrow.png")

    assert sorted(Order.objects.values_list("number", flat=True)) == [
        "1001",
        "1002",
        "1003",
        "1004",
        "1006",
    ]
    assert ImportBatch.objects.get().kind == "shopify"


def test_manager_maps_two_columns_of_an_unknown_csv_previews_and_imports(
    browser_page, manager, products
):
    with browser_page(width=1440) as page:
        sign_in(page, "alice", PASSWORD)
        page.goto("/imports/")
        page.set_input_files('input[type="file"]', str(FILES / "store_orders_week1.csv"))
        page.get_by_role("button", name="Upload and import").click()
        page.wait_for_url("**/imports/*/mapping/")
        expect(page.locator("h1")).to_contain_text("Map the columns of store_orders_week1.csv")
        # Guessed from the names; SKU and quantity are not, so the preview says so.
        expect(page.locator("#id_col_order_number")).to_have_value("Order Number")
        expect(page.locator(".mapping-preview")).to_contain_text("The SKU is required.")
        page.select_option("#id_col_sku", "Product Code (Variation)")
        page.select_option("#id_col_quantity", "Units Sold")
        page.get_by_role("button", name="Update the preview").click()
        preview = page.locator(".mapping-preview")
        expect(preview).to_contain_text("POSTER-1")
        expect(preview).not_to_contain_text("The SKU is required.")
        expect(page.locator("#id_col_sku")).to_have_value("Product Code (Variation)")
        screenshot(page, "import-mapping.png")
        page.set_viewport_size({"width": 390, "height": 844})
        screenshot(page, "import-mapping-narrow.png")
        page.set_viewport_size({"width": 1440, "height": 900})
        page.fill("#id_name", "My web store")
        page.get_by_role("button", name="Save the mapping and import").click()
        page.wait_for_url("**/imports/*/")
        expect(page.locator("main")).to_contain_text("read through the column mapping")
        screenshot(page, "import-mapped-report.png")
        page.goto("/orders/")
        expect(page.get_by_role("link", name="WC-5001")).to_be_visible()
        page.goto("/imports/mappings/")
        expect(page.locator("main")).to_contain_text("My web store")
        screenshot(page, "import-mappings.png")

    assert Order.objects.filter(number__startswith="WC-").count() == 3
    assert ColumnMapping.objects.get().name == "My web store"
