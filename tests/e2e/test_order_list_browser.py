"""The order list a merchant works in all day, in a real browser: search a surname, select a
page and bulk cancel a mix, save a view and find it after signing in again, add a note, and
a phone-width list whose first order is on the first screen. Screenshots at 1440 and 390 px
go to tests/e2e/artifacts/."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import Order, OrderNote, SavedView

from ..conftest import PASSWORD
from ..dashboard_helpers import hold
from .conftest import screenshot, sign_in

pytestmark = pytest.mark.e2e

PEOPLE = [
    ("E2E-1001", "Maria García", "maria.garcia@example.com"),
    ("E2E-1002", "Jörg Müller", "jm@example.org"),
    ("E2E-1003", "Ava Smith", "ava@example.com"),
    ("E2E-1004", "Liam O'Brien", "liam@example.net"),
]


def shop(make_order, drive, staff):
    made = {}
    for number, name, email in PEOPLE:
        made[number] = make_order(
            number=number, customer_name=name, customer_email=email, total=Decimal("59.90")
        )
    made["E2E-1003"] = drive(made["E2E-1003"], "shipped")
    made["E2E-1004"] = drive(made["E2E-1004"], "processing")
    Order.objects.filter(pk=made["E2E-1004"].pk).update(
        ship_by=timezone.now() + datetime.timedelta(minutes=70)
    )
    from orders.services import order_transition

    made["E2E-1002"] = order_transition(
        order=made["E2E-1002"],
        name="hold",
        by=staff,
        params={"reason": "invalid_address", "note": "Postal code 99999 is not in Berlin"},
    )
    return made


def test_search_a_surname_finds_it_inside_the_name(browser_page, manager, staff, make_order, drive):
    shop(make_order, drive, staff)
    with browser_page(width=1440, height=900) as page:
        sign_in(page, "alice", PASSWORD)
        page.goto("/orders/")
        expect(page.locator("table.orders td.col-number")).to_have_count(4)
        screenshot(page, "order-list-1440.png")
        page.fill("#id_q", "garcia")
        page.keyboard.press("Enter")
        expect(page.locator("table.orders td.col-number")).to_have_count(1)
        expect(page.locator("table.orders")).to_contain_text("Maria García")
        page.fill("#id_q", "Muller")
        page.keyboard.press("Enter")
        expect(page.locator("table.orders td.col-number")).to_have_count(1)
        expect(page.locator("table.orders")).to_contain_text("Jörg Müller")
        page.fill("#id_q", "nobody-like-this")
        page.keyboard.press("Enter")
        expect(page.locator("td.empty")).to_contain_text("No orders match “nobody-like-this”")
        # Nothing to act on: no bulk bar, also not while the swapped-in list settles.
        expect(page.locator("[data-bulk-bar]")).to_be_hidden()
        screenshot(page, "order-list-search-empty-1440.png")


def test_select_all_on_a_page_and_bulk_cancel_a_mix(
    browser_page, manager, staff, make_order, drive
):
    made = shop(make_order, drive, staff)
    with browser_page(width=1440, height=900) as page:
        sign_in(page, "alice", PASSWORD)
        page.goto("/orders/")
        bar = page.locator("[data-bulk-bar]")
        expect(bar).to_be_hidden()
        page.locator("[data-select-page]").check()
        expect(bar).to_be_visible()
        expect(bar.locator("[data-bulk-count]")).to_have_text("4 selected")
        expect(bar.locator('[data-bulk-action="cancel"]')).to_be_visible()
        expect(bar.locator('[data-bulk-action="retry"]')).to_be_visible()  # the held order
        screenshot(page, "order-list-selected-1440.png")
        bar.locator('[data-bulk-action="cancel"]').click()
        summary = page.locator(".bulk-summary")
        expect(summary).to_have_text("3 of 4 can be cancelled; 1 cannot: 1 already shipped.")
        expect(page.locator(".bulk-confirm")).to_contain_text("E2E-1003")
        screenshot(page, "bulk-confirm-1440.png")
        page.get_by_role("button", name="Yes, cancel 3 orders").click()
        expect(page.locator("h1")).to_contain_text("Cancel: 3 done, 0 refused")

    assert Order.objects.get(pk=made["E2E-1003"].pk).status == "shipped"
    for number in ("E2E-1001", "E2E-1002", "E2E-1004"):
        assert Order.objects.get(pk=made[number].pk).status == "cancelled"


def test_save_a_view_and_find_it_after_signing_in_again(
    browser_page, manager, staff, make_order, drive
):
    shop(make_order, drive, staff)
    with browser_page(width=1440, height=900) as page:
        sign_in(page, "alice", PASSWORD)
        page.goto("/orders/?group=action_required")
        page.locator(".saved-views summary").click()
        page.fill("#view-name", "Addresses to fix")
        page.get_by_role("button", name="Save view").click()
        expect(page.locator(".message-success")).to_contain_text("Addresses to fix")
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, "alice", PASSWORD)
        link = page.locator(".view-saved", has_text="Addresses to fix")
        expect(link).to_contain_text("1")
        link.click()
        page.wait_for_url("**/orders/?group=action_required")
        expect(page.locator("table.orders td.col-number")).to_have_count(1)

    assert SavedView.objects.get().query == "group=action_required"


def test_add_a_note_and_see_it_in_the_list(browser_page, manager, staff, make_order, drive):
    shop(make_order, drive, staff)
    with browser_page(width=1440, height=900) as page:
        sign_in(page, "alice", PASSWORD)
        page.goto("/orders/E2E-1001/")
        page.fill("#note-text", "Customer called: gift wrap, please")
        page.get_by_role("button", name="Add note").click()
        expect(page.locator(".timeline")).to_contain_text("Customer called: gift wrap, please")
        screenshot(page, "order-page-note-1440.png")
        page.goto("/orders/")
        expect(page.locator(".row-note")).to_contain_text("gift wrap")

    assert OrderNote.objects.get().author == manager


def test_phone_list_shows_an_order_on_the_first_screen(
    browser_page, manager, staff, make_order, drive
):
    shop(make_order, drive, staff)
    for i in range(3):
        hold(make_order(number=f"E2E-20{i}"), staff, reason="pending_approval")
    with browser_page(width=390, height=844) as page:
        sign_in(page, "alice", PASSWORD, landing=True)
        expect(page.locator(".view-link[aria-current]")).to_contain_text("Waiting on you")
        page.goto("/orders/")
        first = page.locator("table.orders tbody tr").first
        box = first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 844, box
        expect(page.locator(".tabs-menu summary")).to_be_visible()
        expect(page.locator("nav.tabs")).to_be_hidden()
        screenshot(page, "order-list-390.png")
        page.goto("/orders/?group=action_required")
        expect(page.locator(".chips-wrap .scroll-hint").first).to_be_visible()
        box = page.locator("table.orders tbody tr").first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 844, box
        screenshot(page, "order-list-held-390.png")
