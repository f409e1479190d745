"""Staff edits in the admin go through orders.staff under a row lock and never write back
what a stale page showed: the change form is posted here exactly as a page fetched *before*
the concurrent change carried it (tests/admin_pages.py reads the real page)."""

import json
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from orders.models import AddressChange, AuditEntry, InventoryLevel, Order, OrderLine
from orders.services import order_clean_sweep, order_edit_address, order_transition
from orders.tracking import signed_headers

from .admin_pages import form_of
from .conftest import US_ADDRESS


@pytest.fixture
def ops(client, staff):
    client.force_login(staff)
    return client


def _fresh(order):
    return Order.objects.get(pk=order.pk)


def _url(order):
    return f"/admin/orders/order/{order.pk}/change/"


def _page(ops, order):
    """The change form as the browser would submit it, unchanged."""
    response = ops.get(_url(order))
    assert response.status_code == 200
    return form_of(response, "order_form")


def _save(ops, order, data, **changes):
    return ops.post(_url(order), {**data, **changes, "_save": "Save"})


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _hand_over(order, staff, tracking="1ZSTALE0000000001"):
    return order_transition(
        order=order,
        name="hand_over",
        by=staff,
        params={"carrier": "UPS", "service": "Ground", "tracking_number": tracking},
    )


# --- item 1: a stale page never writes back what it showed ---------------------------------


def test_phone_edit_on_a_page_older_than_the_hand_over_keeps_carrier_and_tracking(
    ops, staff, make_order, drive, client, settings
):
    order = drive(make_order(), "labeled")
    page = _page(ops, order)  # staff open the order; carrier and tracking are still blank
    _hand_over(order, staff)  # meanwhile the parcel is handed over

    response = _save(ops, order, page, customer_phone="+1 555 0100")

    assert response.status_code == 302
    fresh = _fresh(order)
    assert fresh.customer_phone == "+1 555 0100"
    assert (fresh.status, fresh.carrier, fresh.service, fresh.tracking_number) == (
        "shipped",
        "UPS",
        "Ground",
        "1ZSTALE0000000001",
    )
    assert any("Changed meanwhile by others and kept" in m for m in _messages(response))
    # The carrier's events still find the parcel and move the order.
    body = json.dumps(
        {
            "event_id": "stale-1",
            "tracking_number": "1ZSTALE0000000001",
            "code": "in_transit",
            "occurred_at": "2026-12-01T10:00:00Z",
        }
    ).encode()
    webhook = client.post(
        "/webhooks/tracking/",
        data=body,
        content_type="application/json",
        headers=signed_headers(settings.TRACKING_WEBHOOK_SECRET, body),
    )
    assert webhook.status_code == 200
    assert _fresh(order).status == "in_transit"


def test_phone_edit_on_a_page_older_than_the_merchants_address_keeps_the_new_address(
    ops, manager, make_order, drive
):
    order = drive(make_order(), "processing")
    page = _page(ops, order)
    new_address = {**US_ADDRESS, "address1": "500 Fifth Avenue", "postal_code": "10110"}
    order_edit_address(order=order, by=manager, address=new_address)

    response = _save(ops, order, page, customer_phone="+1 555 0101")

    assert response.status_code == 302
    fresh = _fresh(order)
    assert (fresh.customer_phone, fresh.address1, fresh.postal_code) == (
        "+1 555 0101",
        "500 Fifth Avenue",
        "10110",
    )
    change = AddressChange.objects.get(order=order)
    assert change.applied and change.address["address1"] == fresh.address1


def test_editing_the_address_on_a_stale_page_is_refused_and_says_what_changed(
    ops, manager, make_order, drive
):
    order = drive(make_order(), "processing")
    page = _page(ops, order)
    new_address = {**US_ADDRESS, "address1": "500 Fifth Avenue", "postal_code": "10110"}
    order_edit_address(order=order, by=manager, address=new_address)

    response = _save(ops, order, page, address2="Apt 4", customer_phone="+1 555 0102")

    assert response.status_code == 200  # the form again, with the refusal as its error
    text = response.content.decode()
    assert "changed meanwhile" in text and "Nothing was saved" in text
    assert "Address line 1: 1 Market Street → 500 Fifth Avenue" in text
    fresh = _fresh(order)
    assert (fresh.address1, fresh.address2, fresh.customer_phone) == ("500 Fifth Avenue", "", "")
    refused = AuditEntry.objects.get(action="admin_edit")
    assert refused.outcome == "refused" and "500 Fifth Avenue" in refused.reason


def test_a_fresh_page_saves_only_what_changed_with_an_audit_entry(ops, staff, make_order, drive):
    order = drive(make_order(), "processing")
    page = _page(ops, order)
    response = _save(ops, order, page, customer_name="Ava Smith-Jones")
    assert response.status_code == 302
    fresh = _fresh(order)
    assert fresh.customer_name == "Ava Smith-Jones"
    assert (fresh.status, fresh.stock_reserved) == ("processing", True)
    entry = AuditEntry.objects.get(action="admin_edit")
    assert (entry.outcome, entry.user, entry.numbers) == ("done", staff, order.number)


def test_saving_an_unchanged_page_writes_nothing(ops, staff, make_order, drive):
    order = drive(make_order(), "labeled")
    page = _page(ops, order)
    _hand_over(order, staff)
    assert _save(ops, order, page).status_code == 302
    assert _fresh(order).tracking_number == "1ZSTALE0000000001"
    assert not AuditEntry.objects.filter(action="admin_edit").exists()


def test_a_page_without_what_it_showed_saves_nothing(ops, make_order):
    order = make_order()
    page = _page(ops, order)
    page["shown"] = "not-a-snapshot"
    response = _save(ops, order, page, customer_phone="+1 555 0103")
    assert response.status_code == 200
    assert "does not say what it showed" in response.content.decode()
    assert _fresh(order).customer_phone == ""


def test_a_transition_button_on_a_stale_page_is_refused(ops, staff, make_order, drive):
    order = drive(make_order(), "processing")
    page = _page(ops, order)  # shows Processing with its Hold button
    order_transition(order=order, name="start_pick", by=staff)
    response = ops.post(_url(order), {**page, "_fsm_transition_to": "pack_and_label"})
    assert response.status_code == 302
    assert _fresh(order).status == "pick_in_process"
    assert any("changed meanwhile" in m for m in _messages(response))


# --- inlines: the order's lines -------------------------------------------------------------


def test_line_edit_on_a_page_older_than_the_accept_is_refused(ops, make_order, centers, products):
    order = make_order(quantity=2)
    page = _page(ops, order)
    assert page["lines-0-quantity"] == "2"
    order_transition(order=order, name="accept", by="review", params={"center": centers[0]})

    response = _save(ops, order, page, **{"lines-0-quantity": "5"})

    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    assert OrderLine.objects.get(order=order).quantity == 2
    level = InventoryLevel.objects.get(center=centers[0], product=products["stock"])
    assert (level.on_hand, level.reserved) == (100, 2)


def test_line_edit_on_a_fresh_page_is_saved_with_the_order(ops, make_order):
    order = make_order(quantity=2)
    page = _page(ops, order)
    response = _save(ops, order, page, **{"lines-0-quantity": "3", "customer_phone": "1"})
    assert response.status_code == 302
    assert OrderLine.objects.get(order=order).quantity == 3
    assert _fresh(order).customer_phone == "1"


def test_line_edit_on_a_page_older_than_another_line_edit_is_refused(ops, make_order):
    order = make_order(quantity=2)
    page = _page(ops, order)
    OrderLine.objects.filter(order=order).update(personalization="Happy birthday")
    response = _save(ops, order, page, **{"lines-0-quantity": "4"})
    assert response.status_code == 200
    assert "Lines" in response.content.decode()
    line = OrderLine.objects.get(order=order)
    assert (line.quantity, line.personalization) == (2, "Happy birthday")


# --- item 4: no 500 in the admin ------------------------------------------------------------


def test_renaming_to_another_live_number_of_the_merchant_is_a_form_error(ops, make_order):
    make_order(number="LIVE-1")
    order = make_order(number="LIVE-2")
    page = _page(ops, order)
    response = _save(ops, order, page, number="LIVE-1")
    assert response.status_code == 200
    assert "Another live order of this merchant has this number" in response.content.decode()
    assert _fresh(order).number == "LIVE-2"


def test_renaming_to_a_clean_swept_number_is_allowed(ops, make_order, manager):
    order_clean_sweep(order=make_order(number="SWEPT-1"), by=manager)
    order = make_order(number="LIVE-3")
    response = _save(ops, order, _page(ops, order), number="SWEPT-1")
    assert response.status_code == 302
    assert _fresh(order).number == "SWEPT-1"


def test_a_number_that_cannot_be_in_a_url_is_a_form_error(ops, make_order):
    order = make_order(number="LIVE-4")
    response = _save(ops, order, _page(ops, order), number="A/B")
    assert response.status_code == 200
    assert _fresh(order).number == "LIVE-4"


@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_transition_url_is_a_404(ops, make_order, method):
    order = make_order()
    response = getattr(ops, method)(f"/admin/orders/order/{order.pk}/transition/bogus/")
    assert response.status_code == 404
    response = getattr(ops, method)(f"/admin/orders/order/{order.pk}/transition/save/")
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["bogus", "save", "delete", "lines"])
def test_unknown_transition_in_the_change_form_is_a_form_error(ops, make_order, name):
    order = make_order()
    page = _page(ops, order)
    response = ops.post(_url(order), {**page, "customer_phone": "9", "_fsm_transition_to": name})
    assert response.status_code == 200
    assert "is not an action on orders" in response.content.decode()
    assert _fresh(order).customer_phone == ""


@pytest.mark.parametrize(
    "query",
    [
        "status__exact=%00",
        "flow__exact=%00",
        "payment_status__exact=%00",
        "hold_reason__exact=a%00b",
        "q=%00",
        "queue=%00",
        "status__exact=picked&q=x%00",
    ],
)
def test_changelist_filter_with_a_nul_is_dropped_not_a_500(ops, make_order, query):
    make_order(number="NUL-1")
    response = ops.get(f"/admin/orders/order/?{query}")
    assert response.status_code == 302
    assert "%00" not in response["Location"]
    page = ops.get(response["Location"])
    assert page.status_code == 200
    assert "cannot match anything" in page.content.decode()


def test_nul_in_other_admin_lists_is_dropped_too(ops, make_order):
    for url in ("/admin/auth/user/?q=%00", "/admin/orders/inventorylevel/?center__id__exact=%00"):
        response = ops.get(url, follow=True)
        assert response.status_code == 200, url


# --- item 5: an order's merchant is fixed ---------------------------------------------------


def test_the_merchant_of_an_order_cannot_be_changed_in_the_admin(
    ops, make_order, other_merchant, merchant
):
    order = make_order()
    page = _page(ops, order)
    assert "merchant" not in page
    response = _save(ops, order, page, merchant=str(other_merchant.pk), customer_phone="7")
    assert response.status_code == 302
    fresh = _fresh(order)
    assert (fresh.merchant, fresh.customer_phone) == (merchant, "7")
    assert set(OrderLine.objects.filter(order=order).values_list("merchant", flat=True)) == {
        merchant.pk
    }


# --- bulk actions carry what the list showed ------------------------------------------------


def test_bulk_hold_from_a_stale_list_refuses_the_order_that_moved(ops, staff, make_order, drive):
    moved = drive(make_order(number="BULK-1"), "processing")
    kept = drive(make_order(number="BULK-2"), "processing")
    listing = ops.get("/admin/orders/order/")
    assert f'name="seen-{moved.pk}" value="processing"' in listing.content.decode()
    order_transition(order=moved, name="start_pick", by=staff)  # meanwhile, on the floor
    selected = {
        "_selected_action": [moved.pk, kept.pk],
        f"seen-{moved.pk}": "processing",
        f"seen-{kept.pk}": "processing",
    }
    confirm = ops.post("/admin/orders/order/", {**selected, "action": "bulk_hold"})
    assert confirm.status_code == 200
    assert f'name="seen-{moved.pk}" value="processing"' in confirm.content.decode()
    response = ops.post(
        "/admin/orders/order/",
        {**selected, "action": "bulk_hold", "apply": "1", "reason": "special_requirements"},
    )
    assert response.status_code == 302
    assert _fresh(moved).status == "pick_in_process"
    assert _fresh(kept).status == "action_required"
    assert any("changed meanwhile" in m and "BULK-1" in m for m in _messages(response))


# --- item 2: stock by differences -----------------------------------------------------------


def _level(centers, products):
    return InventoryLevel.objects.get(center=centers[0], product=products["stock"])


def _stock_page(ops, level):
    response = ops.get(f"/admin/orders/inventorylevel/{level.pk}/change/")
    assert response.status_code == 200
    return form_of(response, "inventorylevel_form")


def _stock_save(ops, level, data, **values):
    return ops.post(
        f"/admin/orders/inventorylevel/{level.pk}/change/", {**data, **values, "_save": "Save"}
    )


def test_received_on_a_page_older_than_a_hand_over_counts_the_shipped_unit_once(
    ops, make_order, drive, centers, products
):
    level = _level(centers, products)
    page = _stock_page(ops, level)  # shows 100 on hand
    assert page["shown_on_hand"] == "100"
    drive(make_order(quantity=1), "shipped")  # meanwhile one unit leaves
    response = _stock_save(ops, level, page, received="10")
    assert response.status_code == 302
    assert _level(centers, products).on_hand == 109
    entry = AuditEntry.objects.get(action="stock_adjust")
    assert "received 10" in entry.reason and "99 → 109" in entry.reason


def test_a_count_on_a_stale_page_adjusts_by_the_difference_to_what_the_page_showed(
    ops, make_order, drive, centers, products
):
    level = _level(centers, products)
    page = _stock_page(ops, level)  # shows 100
    drive(make_order(quantity=3), "shipped")  # meanwhile 3 leave: 97 on hand
    response = _stock_save(ops, level, page, counted="98")  # counted 98 where 100 was shown
    assert response.status_code == 302
    assert _level(centers, products).on_hand == 95  # 97 - 2
    assert "adjust by -2" in AuditEntry.objects.get(action="stock_adjust").reason


def test_a_count_below_what_is_reserved_is_refused_and_changes_nothing(
    ops, make_order, drive, centers, products
):
    drive(make_order(quantity=30), "processing")
    level = _level(centers, products)
    response = _stock_save(ops, level, _stock_page(ops, level), counted="20")
    assert response.status_code == 200
    assert "cannot go below" in response.content.decode()
    level = _level(centers, products)
    assert (level.on_hand, level.reserved) == (100, 30)


def test_stock_form_needs_exactly_one_of_received_or_counted(ops, centers, products):
    level = _level(centers, products)
    page = _stock_page(ops, level)
    for values in ({}, {"received": "1", "counted": "5"}, {"received": "-4"}):
        response = _stock_save(ops, level, page, **values)
        assert response.status_code == 200, values
    assert _level(centers, products).on_hand == 100


def test_stock_form_without_what_the_page_showed_changes_nothing(ops, centers, products):
    level = _level(centers, products)
    page = _stock_page(ops, level)
    del page["shown_on_hand"]
    response = _stock_save(ops, level, page, counted="50")
    assert response.status_code == 200
    assert "does not say what it showed" in response.content.decode()
    assert _level(centers, products).on_hand == 100


def test_stock_page_has_no_on_hand_input_to_overwrite(ops, centers, products):
    level = _level(centers, products)
    page = _stock_page(ops, level)
    assert "on_hand" not in page
    response = _stock_save(ops, level, page, on_hand="5", received="1")
    assert response.status_code == 302
    assert _level(centers, products).on_hand == 101


def test_refund_amount_is_untouched_by_an_edit(ops, staff, make_order):
    order = make_order(total=Decimal("40.00"))
    page = _page(ops, order)
    order_transition(order=order, name="mark_paid", by=staff)
    order_transition(order=order, name="refund", by=staff, params={"amount": "5"})
    assert _save(ops, order, page, customer_phone="3").status_code == 302
    fresh = _fresh(order)
    assert (fresh.payment_status, fresh.refunded_amount) == ("partially_refunded", Decimal("5"))


def test_a_transition_form_opened_before_the_order_moved_is_refused(ops, staff, make_order, drive):
    order = drive(make_order(), "processing")
    url = f"/admin/orders/order/{order.pk}/transition/hold/"
    response = ops.get(url)
    assert 'name="seen" value="processing"' in response.content.decode()
    order_transition(order=order, name="start_pick", by=staff)  # meanwhile
    response = ops.post(url, {"seen": "processing", "reason": "special_requirements"})
    assert _fresh(order).status == "pick_in_process"
    assert any("changed meanwhile" in m for m in _messages(response))
    # The same form from a page that saw Pick in Process holds it.
    ops.post(url, {"seen": "pick_in_process", "reason": "special_requirements"})
    assert _fresh(order).status == "action_required"
