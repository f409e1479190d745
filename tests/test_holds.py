"""Each way out of each hold reason, and stock following the order (reserve on accept,
release on cancel and clean sweep)."""

import pytest
from django.urls import reverse

from orders.holds import order_complete_personalization, order_stock_arrived
from orders.models import InventoryLevel, Order, Product, StatusChange
from orders.review import review_order
from orders.services import (
    ActionRefused,
    order_cancel,
    order_clean_sweep,
    order_edit_address,
    order_retry,
    order_transition,
)
from tests.conftest import PASSWORD, US_ADDRESS


def fresh(order):
    return Order.objects.get(pk=order.pk)


def reviewed(order):
    review_order(order.pk)
    return fresh(order)


def level(products, center):
    return InventoryLevel.objects.get(product=products["stock"], center=center)


@pytest.fixture
def out_of_stock(products):
    InventoryLevel.objects.filter(product=products["stock"]).update(on_hand=0)


# --- insufficient inventory ----------------------------------------------------------------


def test_stock_arrival_re_reviews_held_orders_oldest_first(
    make_order, products, centers, out_of_stock, django_capture_on_commit_callbacks
):
    older = reviewed(make_order(quantity=2))
    newer = reviewed(make_order(quantity=2))
    assert {older.hold_reason, newer.hold_reason} == {"insufficient_inventory"}
    InventoryLevel.objects.filter(product=products["stock"], center=centers[0]).update(on_hand=2)
    with django_capture_on_commit_callbacks(execute=True):
        retried = order_stock_arrived(product=products["stock"])
    assert [o.pk for o in retried] == [older.pk]  # only as many as the stock can serve
    assert fresh(older).status == "processing"
    assert fresh(newer).hold_reason == "insufficient_inventory"
    row = StatusChange.objects.filter(order=older, transition="retry").get()
    assert row.actor_name == "stock arrived"
    assert level(products, centers[0]).reserved == 2


def test_receiving_stock_in_the_admin_re_reviews(
    client, staff, make_order, products, centers, out_of_stock, django_capture_on_commit_callbacks
):
    held = reviewed(make_order())
    client.login(username=staff.username, password=PASSWORD)
    stock = level(products, centers[0])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:orders_inventorylevel_change", args=[stock.pk]),
            {"shown_on_hand": stock.on_hand, "received": 5},
            follow=True,
        )
    assert response.status_code == 200
    assert "1 held order(s) sent back to review" in response.content.decode()
    order = fresh(held)
    assert (order.status, order.center) == ("processing", centers[0])
    assert level(products, centers[0]).reserved == 1


def test_lowering_stock_in_the_admin_re_reviews_nothing(
    client, staff, make_order, products, centers, out_of_stock
):
    held = reviewed(make_order())
    InventoryLevel.objects.filter(product=products["stock"], center=centers[0]).update(on_hand=5)
    client.login(username=staff.username, password=PASSWORD)
    stock = level(products, centers[0])
    client.post(
        reverse("admin:orders_inventorylevel_change", args=[stock.pk]),
        {"shown_on_hand": 5, "counted": 4},
    )
    assert fresh(held).status == "action_required"
    assert not StatusChange.objects.filter(order=held, transition="retry").exists()


def test_merchant_retries_insufficient_inventory(make_order, manager, products, out_of_stock):
    held = reviewed(make_order())
    InventoryLevel.objects.filter(product=products["stock"]).update(on_hand=3)
    order = reviewed(order_retry(order=held, by=manager))
    assert order.status == "processing"


# --- invalid address -----------------------------------------------------------------------


def test_address_edit_sends_invalid_address_back_to_review(
    make_order, manager, django_capture_on_commit_callbacks
):
    held = reviewed(make_order(postal_code="nope"))
    assert held.hold_reason == "invalid_address"
    with django_capture_on_commit_callbacks(execute=True):
        order_edit_address(order=held, by=manager, address=US_ADDRESS)
    order = fresh(held)
    assert order.status == "processing"
    transitions = list(
        StatusChange.objects.filter(order=order, field="status").values_list(
            "transition", flat=True
        )
    )
    assert transitions[-3:] == ["hold", "retry", "accept"]


def test_address_edit_with_errors_changes_nothing(make_order, manager):
    held = reviewed(make_order(postal_code="nope"))
    with pytest.raises(ActionRefused) as refused:
        order_edit_address(order=held, by=manager, address={**US_ADDRESS, "postal_code": "x"})
    assert "postal_code" in refused.value.errors
    assert fresh(held).hold_reason == "invalid_address"


# --- product configuration, not connected --------------------------------------------------


def test_mapping_the_ship_option_then_retry(make_order, manager, merchant):
    held = reviewed(make_order(ship_option="Overnight"))
    assert held.hold_reason == "product_configuration"
    merchant.ship_options.create(store_option="Overnight", carrier="UPS", service="Next Day Air")
    order = reviewed(order_retry(order=held, by=manager))
    assert (order.status, order.carrier, order.service) == ("processing", "UPS", "Next Day Air")


def test_clean_sweep_and_reimport_way_out(make_order, manager, merchant, products):
    from orders.importing import import_orders, parse_api_order

    held = reviewed(make_order(number="PC-1", ship_option="Overnight"))
    order_clean_sweep(order=held, by=manager)
    merchant.ship_options.create(store_option="Overnight", carrier="UPS", service="Next Day Air")
    data = {
        "number": "PC-1",
        **US_ADDRESS,
        "ship_option": "Overnight",
        "lines": [{"sku": "TEE-1", "quantity": 1}],
    }
    [outcome] = import_orders(merchant=merchant, inputs=[parse_api_order(data)], by=manager)
    assert outcome.outcome == "reimported"
    assert reviewed(outcome.order).status == "processing"


def test_connecting_the_product_then_retry(make_order, manager, products):
    Product.objects.filter(pk=products["stock"].pk).update(connected=False)
    held = reviewed(make_order())
    assert held.hold_reason == "not_connected"
    Product.objects.filter(pk=products["stock"].pk).update(connected=True)
    assert reviewed(order_retry(order=held, by=manager)).status == "processing"


# --- personalization, approval, special requirements, payment ------------------------------


def test_completed_personalization_sends_the_order_back_to_review(merchant, products, manager):
    from orders.services import order_create

    order = order_create(
        merchant=merchant,
        by="test",
        number="PZ-1",
        lines=[{"sku": "TEE-1", "personalization": "Ann", "personalization_complete": False}],
        ship_option="Standard",
        **US_ADDRESS,
    )
    held = reviewed(order)
    assert held.hold_reason == "pending_personalization"
    assert reviewed(order_retry(order=held, by=manager)).hold_reason == "pending_personalization"
    order_complete_personalization(order=held, by=manager)
    assert reviewed(held).status == "processing"


def test_viewer_cannot_complete_personalization(make_order, viewer):
    with pytest.raises(ActionRefused):
        order_complete_personalization(order=make_order(), by=viewer)


def test_staff_approve_pending_approval(make_order, staff):
    held = reviewed(make_order(needs_approval=True))
    order = order_transition(order=held, name="approve", by=staff)
    assert reviewed(order).status == "processing"


def test_staff_decline_pending_approval(make_order, staff):
    held = reviewed(make_order(needs_approval=True))
    order = order_transition(order=held, name="decline", by=staff)
    assert fresh(order).status == "cancelled"


def test_merchant_cannot_retry_pending_approval(make_order, manager):
    held = reviewed(make_order(needs_approval=True))
    with pytest.raises(ActionRefused, match="staff resolve"):
        order_retry(order=held, by=manager)
    assert fresh(held).status == "action_required"


def test_staff_release_special_requirements(make_order, staff):
    order = make_order()
    held = order_transition(
        order=order, name="hold", by=staff, params={"reason": "special_requirements"}
    )
    order = order_transition(order=held, name="release", by=staff)
    assert reviewed(order).status == "processing"


def test_successful_payment_releases_payment_refused(make_order, staff):
    order = make_order()
    held = order_transition(order=order, name="refuse_payment", by="payments")
    assert (fresh(held).status, fresh(held).hold_reason) == ("action_required", "payment_refused")
    paid = order_transition(order=fresh(held), name="mark_paid", by="payments")
    assert reviewed(paid).status == "processing"


def test_retry_with_payment_still_refused_holds_again(make_order, manager):
    held = order_transition(order=make_order(), name="refuse_payment", by="payments")
    order = reviewed(order_retry(order=fresh(held), by=manager))
    assert (order.status, order.hold_reason) == ("action_required", "payment_refused")


# --- stock follows the order ---------------------------------------------------------------


def test_cancel_after_review_releases_the_reservation(make_order, manager, products, centers):
    order = reviewed(make_order(quantity=4))
    assert level(products, centers[0]).reserved == 4
    order_cancel(order=order, by=manager)
    assert level(products, centers[0]).reserved == 0
    assert fresh(order).stock_reserved is False


def test_clean_sweep_after_review_releases_the_reservation(make_order, manager, products, centers):
    order = reviewed(make_order(quantity=4))
    order_clean_sweep(order=order, by=manager)
    assert level(products, centers[0]).reserved == 0


def test_reservations_never_exceed_stock(make_order, products, centers):
    InventoryLevel.objects.filter(product=products["stock"]).update(on_hand=3)
    orders = [reviewed(make_order(quantity=2)) for _ in range(4)]
    assert [o.status for o in orders].count("processing") == 2  # one per facility
    for center in centers:
        stock = level(products, center)
        assert stock.reserved <= stock.on_hand
