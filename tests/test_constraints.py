"""Database rules: one live order per (merchant, number), hold reason exactly when on hold,
reservations within stock."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from orders.models import InventoryLevel, Order
from orders.services import order_transition


def test_second_live_order_with_the_same_number_is_refused(make_order):
    make_order(number="A-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_order(number="A-1")
    assert Order.objects.filter(number="A-1").count() == 1


def test_reimport_is_allowed_after_clean_sweep(make_order, manager):
    first = make_order(number="A-1")
    order_transition(order=first, name="clean_sweep", by=manager)
    again = make_order(number="A-1", reimport_of=first)
    assert again.status == "import_review"
    assert again.reimport_of == first
    assert again.history.get().transition == "reimport"
    # ... but only one live order at a time, even then.
    with pytest.raises(IntegrityError), transaction.atomic():
        make_order(number="A-1")


def test_same_number_at_another_merchant_is_independent(make_order, other_merchant):
    make_order(number="A-1")
    make_order(number="A-1", target_merchant=other_merchant)
    assert Order.objects.filter(number="A-1").count() == 2


def test_hold_reason_only_while_on_hold(make_order):
    order = make_order()
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(hold_reason="invalid_address")


def test_on_hold_needs_a_reason(make_order):
    order = order_transition(
        order=make_order(), name="hold", by="review", params={"reason": "invalid_address"}
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(hold_reason="")


def test_reserved_can_never_exceed_on_hand(products, centers):
    level = InventoryLevel.objects.get(product=products["stock"], center=centers[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryLevel.objects.filter(pk=level.pk).update(reserved=F("on_hand") + 1)
