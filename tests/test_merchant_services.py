"""The merchant's own actions through the services: submit, cancel, clean sweep, retry, address
edits and address change requests, with stock following the order."""

import pytest

from orders.models import AddressChange, InventoryLevel, Order, StatusChange
from orders.services import (
    ActionRefused,
    order_cancel,
    order_clean_sweep,
    order_edit_address,
    order_request_address_change,
    order_submit,
    order_transition,
)
from tests.conftest import US_ADDRESS


def level(products, centers):
    return InventoryLevel.objects.get(product=products["stock"], center=centers[0])


def test_manager_submits_a_draft(make_order, manager):
    order = order_submit(order=make_order(draft=True), by=manager)
    assert Order.objects.get(pk=order.pk).status == "import_review"
    row = StatusChange.objects.filter(order=order).last()
    assert (row.transition, row.actor) == ("submit", manager)


def test_viewer_cannot_submit(make_order, viewer):
    order = make_order(draft=True)
    with pytest.raises(ActionRefused, match="viewer"):
        order_submit(order=order, by=viewer)
    assert Order.objects.get(pk=order.pk).status == "draft"


def test_cancel_releases_reserved_stock(make_order, drive, manager, products, centers):
    order = drive(make_order(quantity=3), "processing")
    assert (level(products, centers).reserved, Order.objects.get(pk=order.pk).stock_reserved) == (
        3,
        True,
    )
    order_cancel(order=order, by=manager, note="customer asked")
    assert level(products, centers).reserved == 0
    assert level(products, centers).on_hand == 100
    row = StatusChange.objects.filter(order=order, field="status").last()
    assert (row.transition, row.reason) == ("cancel", "customer asked")


def test_clean_sweep_releases_reserved_stock(make_order, drive, manager, products, centers):
    order = drive(make_order(quantity=2), "processing")
    order_clean_sweep(order=order, by=manager)
    assert level(products, centers).reserved == 0
    assert Order.objects.get(pk=order.pk).status == "clean_swept"


def test_hand_over_consumes_stock(make_order, drive, products, centers):
    drive(make_order(quantity=2), "shipped")
    assert (level(products, centers).on_hand, level(products, centers).reserved) == (98, 0)


def test_accept_refuses_when_stock_is_gone(make_order, products, centers):
    InventoryLevel.objects.filter(product=products["stock"]).update(on_hand=1)
    first = make_order(quantity=1)
    second = make_order(quantity=1)
    order_transition(order=first, name="accept", by="review", params={"center": centers[0]})
    with pytest.raises(ActionRefused, match="Not enough stock"):
        order_transition(order=second, name="accept", by="review", params={"center": centers[0]})
    assert Order.objects.get(pk=second.pk).status == "import_review"
    assert level(products, centers).reserved == 1


def test_cancel_after_printing_is_refused_with_the_reason(make_order, drive, manager):
    order = drive(make_order("print"), "printed")
    with pytest.raises(ActionRefused, match="already printed: can no longer be cancelled"):
        order_cancel(order=order, by=manager)


def test_clean_sweep_after_picking_started_suggests_cancel(make_order, drive, manager):
    order = drive(make_order(), "pick_in_process")
    with pytest.raises(ActionRefused, match="cancel it instead"):
        order_clean_sweep(order=order, by=manager)


def test_address_edit_applies_and_is_recorded(make_order, manager):
    order = make_order()
    new = {**US_ADDRESS, "address1": "2 Broadway", "postal_code": "10004"}
    order_edit_address(order=order, by=manager, address=new)
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.address1, fresh.postal_code) == ("2 Broadway", "10004")
    change = AddressChange.objects.get(order=order)
    assert change.applied and change.previous_address["address1"] == "1 Market Street"


def test_invalid_address_is_refused_field_by_field(make_order, manager):
    order = make_order()
    with pytest.raises(ActionRefused) as refused:
        order_edit_address(
            order=order, by=manager, address={**US_ADDRESS, "postal_code": "ABC", "country": "US"}
        )
    assert "postal_code" in refused.value.errors
    assert Order.objects.get(pk=order.pk).postal_code == "10001"
    assert not AddressChange.objects.exists()


def test_fixing_an_invalid_address_sends_the_order_back_to_review(make_order, manager):
    order = order_transition(
        order=make_order(), name="hold", by="review", params={"reason": "invalid_address"}
    )
    order_edit_address(order=order, by=manager, address=US_ADDRESS)
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.hold_reason) == ("import_review", "")
    assert StatusChange.objects.filter(order=order).last().transition == "retry"


def test_address_cannot_be_edited_once_labeled(make_order, drive, manager):
    order = drive(make_order(), "labeled")
    with pytest.raises(ActionRefused, match="request a change instead"):
        order_edit_address(order=order, by=manager, address=US_ADDRESS)


def test_address_change_can_be_requested_once_labeled(make_order, drive, manager):
    order = drive(make_order(), "labeled")
    new = {**US_ADDRESS, "address1": "9 Elm St"}
    change = order_request_address_change(order=order, by=manager, address=new, note="moved")
    assert not change.applied
    assert Order.objects.get(pk=order.pk).address1 == "1 Market Street"


def test_viewer_cannot_edit_or_request_addresses(make_order, drive, viewer):
    order = make_order()
    with pytest.raises(ActionRefused):
        order_edit_address(order=order, by=viewer, address=US_ADDRESS)
    with pytest.raises(ActionRefused):
        order_request_address_change(order=order, by=viewer, address=US_ADDRESS)
    assert not AddressChange.objects.exists()
