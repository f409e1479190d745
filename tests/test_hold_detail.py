"""Each hold keeps the specific detail written by the check that failed, through the real
review path (one order, and an import batch's chunks), and the order page, the export and
the API say it in words."""

import csv
import datetime
import io
import json

import pytest

from orders.hold_detail import describe
from orders.models import InventoryLevel, Order, Product
from orders.review import review_order, review_orders
from orders.services import order_create, order_transition
from tests.conftest import PASSWORD, US_ADDRESS


def fresh(order):
    return Order.objects.get(pk=order.pk)


def reviewed(order, chunked=False):
    if chunked:
        review_orders([order.pk])
    else:
        review_order(order.pk)
    return fresh(order)


def new(merchant, number, lines, **fields):
    values = {**US_ADDRESS, "ship_option": "Standard", "customer_name": "Ava Smith", **fields}
    return order_create(merchant=merchant, by="test", number=number, lines=lines, **values)


@pytest.fixture(params=[False, True], ids=["single", "chunk"])
def chunked(request):
    return request.param


def test_insufficient_inventory_names_sku_quantities_and_centers(
    merchant, products, centers, chunked
):
    InventoryLevel.objects.filter(product=products["stock"], center=centers[0]).update(on_hand=2)
    InventoryLevel.objects.filter(product=products["stock"], center=centers[1]).update(
        on_hand=1, restock_expected=datetime.date(2026, 7, 1)
    )
    order = reviewed(new(merchant, "S-1", [{"sku": "TEE-1", "quantity": 5}]), chunked)
    assert order.hold_reason == "insufficient_inventory"
    assert order.hold_detail == {
        "short": [
            {
                "sku": "TEE-1",
                "name": "Tee",
                "needed": 5,
                "available": {"NJ1": 2, "LEJ": 1},
                "restock": "2026-07-01",
            }
        ]
    }
    assert describe(order.hold_reason, order.hold_detail) == [
        "TEE-1: 5 needed, available 1 at LEJ, 2 at NJ1. More expected 2026-07-01."
    ]


def test_invalid_address_names_field_problem_and_suggestion(merchant, products, chunked):
    order = reviewed(
        new(merchant, "A-1", [{"sku": "TEE-1"}], postal_code="1001", region="NY"), chunked
    )
    assert order.hold_reason == "invalid_address"
    (item,) = order.hold_detail["fields"]
    assert item["field"] == "postal_code"
    assert item["label"] == "Postal code"
    assert "5-digit ZIP" in item["problem"]
    assert item["suggestion"] == "01001"


def test_unknown_sku_is_named(merchant, products, chunked):
    order = reviewed(new(merchant, "P-1", [{"sku": "TEE-1"}, {"sku": "NOPE-9"}]), chunked)
    assert order.hold_reason == "product_configuration"
    assert order.hold_detail == {"unknown_skus": ["NOPE-9"]}
    assert describe(order.hold_reason, order.hold_detail) == [
        "Unknown SKU: NOPE-9 (not in your products)."
    ]


def test_unmapped_ship_option_is_named(merchant, products, chunked):
    order = reviewed(new(merchant, "P-2", [{"sku": "TEE-1"}], ship_option="Moon Post"), chunked)
    assert order.hold_detail == {"unmapped_ship_option": "Moon Post"}
    assert (
        "Ship option 'Moon Post' is not mapped" in describe(order.hold_reason, order.hold_detail)[0]
    )


def test_mixed_flows_name_the_lines_of_each_flow(merchant, products, chunked):
    order = reviewed(new(merchant, "P-3", [{"sku": "TEE-1"}, {"sku": "POSTER-1"}]), chunked)
    assert order.hold_reason == "product_configuration"
    assert order.hold_detail == {"mixed": {"stock": ["TEE-1"], "print": ["POSTER-1"]}}
    assert describe(order.hold_reason, order.hold_detail) == [
        "Mixes stock items (TEE-1) with print products (POSTER-1): split it into two orders."
    ]


def test_not_connected_names_the_product(merchant, products, chunked):
    Product.objects.filter(sku="POSTER-1").update(connected=False)
    order = reviewed(new(merchant, "N-1", [{"sku": "POSTER-1"}]), chunked)
    assert order.hold_reason == "not_connected"
    assert order.hold_detail == {"products": [{"sku": "POSTER-1", "name": "Poster"}]}


def test_payment_refused_keeps_the_processors_reason(make_order):
    order = order_transition(
        order=make_order(),
        name="refuse_payment",
        by="payments",
        params={"reason": "Card declined: insufficient funds"},
    )
    assert order.hold_reason == "payment_refused"
    assert order.hold_detail == {"processor_reason": "Card declined: insufficient funds"}


def test_payment_refused_at_review_reads_the_refusal_reason(make_order, manager):
    draft = make_order(draft=True)
    order_transition(
        order=draft, name="refuse_payment", by="payments", params={"reason": "Expired card"}
    )
    order_transition(order=fresh(draft), name="submit", by=manager)
    order = reviewed(draft)
    assert order.hold_reason == "payment_refused"
    assert describe(order.hold_reason, order.hold_detail) == [
        "The payment processor said: Expired card"
    ]


def test_pending_approval_says_what_is_checked_and_how_long(make_order, chunked):
    order = reviewed(make_order(needs_approval=True), chunked)
    assert order.hold_reason == "pending_approval"
    (line,) = describe(order.hold_reason, order.hold_detail)
    assert "manual approval" in line and "Usually within 1 business day" in line


def test_detail_is_cleared_when_the_hold_ends(make_order, manager):
    order = reviewed(make_order(ship_option="Moon Post"))
    assert order.hold_detail
    order = order_transition(order=order, name="retry", by=manager)
    assert fresh(order).hold_detail is None


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_order_page_export_and_api_show_the_detail(client, manager, merchant, products):
    from orders.tokens import token_create

    order = reviewed(new(merchant, "X-1", [{"sku": "TEE-1"}, {"sku": "NOPE-9"}]))
    login(client, manager)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Unknown SKU: NOPE-9 (not in your products)." in page
    listing = client.get("/orders/", {"group": "action_required"}).content.decode()
    # The row says whose move it is, then the hold's exact detail.
    assert (
        '<span class="hold-line"><span class="owner">Waiting on you</span> · '
        "Unknown SKU: NOPE-9 (not in your products)."
    ) in listing
    export = client.get("/orders/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    (row,) = [r for r in rows if r["order_number"] == "X-1"]
    assert row["hold_detail"] == "Unknown SKU: NOPE-9 (not in your products)."
    _token, raw = token_create(merchant=merchant, name="test")
    api = client.get(f"/api/v1/orders/{order.number}", headers={"Authorization": f"Bearer {raw}"})
    body = json.loads(api.content)
    assert body["hold"]["detail"] == ["Unknown SKU: NOPE-9 (not in your products)."]


def test_held_event_and_its_email_carry_the_checks_detail(merchant, products, chunked):
    from orders.event_models import Event
    from orders.events import HELD
    from orders.notify import _email_item

    order = reviewed(new(merchant, "EV-1", [{"sku": "TEE-1"}, {"sku": "NOPE-9"}]), chunked)
    assert order.status == "action_required"
    event = Event.objects.get(order=order, type=HELD)
    hold = event.payload["hold"]
    assert hold["reason"] == "product_configuration"
    assert hold["detail"] == ["Unknown SKU: NOPE-9 (not in your products)."]
    assert hold["facts"]["unknown_skus"] == ["NOPE-9"]
    assert _email_item(event)["why"] == "Unknown SKU: NOPE-9 (not in your products)."
