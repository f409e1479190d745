"""Stock follows the orders: reserved on accept, released on cancel, clean sweep, decline and
back-to-review, consumed on hand-over, never negative; the admin shows and guards it."""

import contextlib
import random

import pytest
from django.db import IntegrityError, transaction

from orders.models import InventoryLevel, Order, StatusChange
from orders.services import ActionRefused, order_transition


def _level(centers, sku="TEE-1", center=0):
    level = InventoryLevel.objects.get(center=centers[center], product__sku=sku)
    return level.on_hand, level.reserved, level.available


def _fresh(order):
    return Order.objects.get(pk=order.pk)


def _ship(order, staff):
    """From Processing to Shipped, as the warehouse does it."""
    for name in ("start_pick", "finish_pick", "pack_and_label"):
        order = order_transition(order=order, name=name, by=staff)
    params = {"carrier": "UPS", "tracking_number": f"1Z{order.pk:016d}"}
    return order_transition(order=order, name="hand_over", by=staff, params=params)


def test_accept_reserves_and_keeps_on_hand(make_order, drive, centers):
    order = drive(make_order(quantity=3), "processing")
    assert _level(centers) == (100, 3, 97)
    assert _fresh(order).stock_reserved
    assert StatusChange.objects.filter(order=order, transition="accept").count() == 1


def test_cancel_after_accept_releases_the_reservation(make_order, drive, centers, manager):
    order = drive(make_order(quantity=4), "picked")
    order_transition(order=order, name="cancel", by=manager)
    assert _level(centers) == (100, 0, 100)
    assert not _fresh(order).stock_reserved


def test_cancel_before_accept_touches_no_stock(make_order, centers, manager):
    order = make_order(quantity=4)
    order_transition(order=order, name="cancel", by=manager)
    assert _level(centers) == (100, 0, 100)


def test_hand_over_consumes_on_hand_and_reservation(make_order, drive, centers):
    order = drive(make_order(quantity=5), "shipped")
    assert _level(centers) == (95, 0, 95)
    assert not _fresh(order).stock_reserved
    # Carrier events after the hand-over do not touch stock again.
    for name in ("scan", "deliver"):
        order = order_transition(order=order, name=name, by="carrier")
    assert _level(centers) == (95, 0, 95)


def test_clean_sweep_after_accept_releases(make_order, drive, centers, manager):
    order = drive(make_order(quantity=6), "processing")
    order_transition(order=order, name="clean_sweep", by=manager)
    assert _level(centers) == (100, 0, 100)


def test_decline_of_an_order_held_after_accept_releases(make_order, drive, centers, staff):
    order = drive(make_order(quantity=7), "processing")
    order = order_transition(
        order=order, name="hold", by=staff, params={"reason": "pending_approval"}
    )
    assert _level(centers) == (100, 7, 93)  # a hold keeps the stock set aside
    order_transition(order=order, name="decline", by=staff)
    assert _fresh(order).status == "cancelled"
    assert _level(centers) == (100, 0, 100)


def test_back_to_review_releases_and_the_next_accept_reserves_again(
    make_order, drive, centers, staff
):
    order = drive(make_order(quantity=2), "processing")
    order = order_transition(
        order=order, name="hold", by=staff, params={"reason": "special_requirements"}
    )
    order = order_transition(order=order, name="release", by=staff)
    assert _level(centers) == (100, 0, 100)
    order_transition(order=order, name="accept", by="review", params={"center": centers[1]})
    assert _level(centers) == (100, 0, 100)
    assert _level(centers, center=1) == (100, 2, 98)


def test_accept_beyond_available_is_refused_and_reserves_nothing(make_order, drive, centers):
    drive(make_order(quantity=60), "processing")
    second = make_order(quantity=41)
    with pytest.raises(ActionRefused, match="Not enough stock"):
        order_transition(order=second, name="accept", by="review", params={"center": centers[0]})
    assert _fresh(second).status == "import_review"
    assert _level(centers) == (100, 60, 40)
    assert not StatusChange.objects.filter(order=second, transition="accept").exists()


def test_print_orders_do_not_touch_stock(make_order, drive, centers):
    drive(make_order(kind="print"), "shipped")
    assert _level(centers) == (100, 0, 100)


def test_arithmetic_across_accept_cancel_hand_over_and_clean_sweep(
    make_order, drive, centers, manager, staff
):
    a, b, c = (drive(make_order(quantity=q), "processing") for q in (10, 20, 30))
    assert _level(centers) == (100, 60, 40)
    order_transition(order=b, name="cancel", by=manager)
    assert _level(centers) == (100, 40, 60)
    _ship(a, staff)
    assert _level(centers) == (90, 30, 60)
    order_transition(order=c, name="clean_sweep", by=manager)
    assert _level(centers) == (90, 0, 90)


def test_random_sequences_never_make_stock_negative_or_over_reserved(
    make_order, drive, centers, manager, staff
):
    rng = random.Random(5)
    live = []
    for _ in range(40):
        step = rng.choice(["new", "new", "cancel", "ship", "hold_release"])
        if step == "new":
            order = make_order(quantity=rng.randint(1, 15))
            with contextlib.suppress(ActionRefused):  # sold out: the order waits in review
                live.append(
                    order_transition(
                        order=order, name="accept", by="review", params={"center": centers[0]}
                    )
                )
        elif live and step == "cancel":
            order_transition(order=live.pop(rng.randrange(len(live))), name="cancel", by=manager)
        elif live and step == "ship":
            _ship(live.pop(rng.randrange(len(live))), staff)
        elif live and step == "hold_release":
            order = live.pop(rng.randrange(len(live)))
            order = order_transition(
                order=order, name="hold", by=staff, params={"reason": "special_requirements"}
            )
            order_transition(order=order, name="release", by=staff)
        on_hand, reserved, available = _level(centers)
        assert 0 <= reserved <= on_hand
        open_qty = sum(
            line.quantity
            for o in Order.objects.filter(stock_reserved=True)
            for line in o.lines.all()
        )
        assert reserved == open_qty


def test_database_refuses_reserving_more_than_on_hand(products, centers):
    level = InventoryLevel.objects.get(center=centers[0], product=products["stock"])
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryLevel.objects.filter(pk=level.pk).update(reserved=101)


# --- the admin -----------------------------------------------------------------------------


@pytest.fixture
def ops(client, staff):
    client.force_login(staff)
    return client


def test_admin_lists_on_hand_reserved_and_available(ops, make_order, drive, centers):
    drive(make_order(quantity=3), "processing")
    response = ops.get("/admin/orders/inventorylevel/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "column-on_hand" in text and "column-reserved" in text and "column-available" in text
    assert '<td class="field-available">97</td>' in text


def _adjust_level(client, level, shown, **values):
    return client.post(
        f"/admin/orders/inventorylevel/{level.pk}/change/",
        {"shown_on_hand": str(shown), **values, "_save": "Save"},
    )


def test_admin_count_cannot_take_on_hand_below_reserved(ops, make_order, drive, centers):
    drive(make_order(quantity=30), "processing")
    level = InventoryLevel.objects.get(center=centers[0], product__sku="TEE-1")
    response = _adjust_level(ops, level, 100, counted="20")
    assert response.status_code == 200
    assert b"cannot go below" in response.content
    assert _level(centers) == (100, 30, 70)


def test_admin_receipt_keeps_reservation_and_hand_over_made_meanwhile(
    ops, make_order, drive, centers
):
    level = InventoryLevel.objects.get(center=centers[0], product__sku="TEE-1")
    assert ops.get(f"/admin/orders/inventorylevel/{level.pk}/change/").status_code == 200
    # While the page (showing 100) is open an order is accepted and handed over.
    drive(make_order(quantity=5), "shipped")
    # Staff received 50 more.
    response = _adjust_level(ops, level, 100, received="50")
    assert response.status_code == 302
    assert _level(centers) == (145, 0, 145)


def test_admin_center_and_product_of_a_level_are_fixed(ops, centers, products):
    level = InventoryLevel.objects.get(center=centers[0], product__sku="TEE-1")
    response = _adjust_level(ops, level, 100, received="1", center=str(centers[1].pk))
    assert response.status_code == 302
    level = InventoryLevel.objects.get(pk=level.pk)
    assert (level.center, level.on_hand) == (centers[0], 101)


def test_admin_order_lines_are_read_only_once_stock_is_reserved(ops, make_order, drive):
    order = drive(make_order(quantity=2), "processing")
    page = ops.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    assert b'name="lines-0-quantity"' not in page.content
    fresh_review = make_order()
    page = ops.get(f"/admin/orders/order/{fresh_review.pk}/change/")
    assert b'name="lines-0-quantity"' in page.content


def test_admin_order_edit_never_writes_back_a_stale_status_or_stock_flag(
    ops, make_order, drive, manager, monkeypatch
):
    from orders.admin import OrderAdmin

    order = drive(make_order(quantity=3), "processing")
    stale = _fresh(order)  # what the staff member's page was built from
    order_transition(order=order, name="cancel", by=manager)  # meanwhile, on the dashboard
    monkeypatch.setattr(OrderAdmin, "get_object", lambda self, request, object_id, *a: stale)
    from tests.test_payments import _change_form

    data = {**_change_form(stale), "customer_name": "Ava Smith-Jones", "_save": "Save"}
    response = ops.post(f"/admin/orders/order/{order.pk}/change/", data)
    assert response.status_code == 302
    fresh = _fresh(order)
    assert fresh.customer_name == "Ava Smith-Jones"
    assert (fresh.status, fresh.stock_reserved) == ("cancelled", False)
    assert _level(centers=[stale.center]) == (100, 0, 100)


def test_admin_adds_a_level_for_a_new_center(ops, products, centers):
    from orders.models import FulfillmentCenter

    reno = FulfillmentCenter.objects.create(code="RNO", name="Reno", country="US")
    response = ops.post(
        "/admin/orders/inventorylevel/add/",
        {"center": str(reno.pk), "product": str(products["stock"].pk), "on_hand": "25"},
    )
    assert response.status_code == 302
    level = InventoryLevel.objects.get(center=reno)
    assert (level.on_hand, level.reserved, level.available) == (25, 0, 25)
