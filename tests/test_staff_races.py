"""Staff edits racing the machines and the merchant, on PostgreSQL (real row locks; see
tests/test_races.py for the harness). The admin's services (orders/staff.py) hold the order
or the stock level locked while they compare it with what the page showed."""

from collections import Counter

import pytest

from orders.models import AddressChange, InventoryLevel
from orders.services import order_edit_address, order_transition
from orders.staff import StaleEdit, order_staff_edit, snapshot, stock_adjust

from .conftest import US_ADDRESS
from .test_races import (
    ON_POSTGRES,
    accepted_order,
    advance,
    assert_history_chains,
    assert_stock_consistent,
    copies,
    fresh,
    race,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL row locks"),
]

ROUNDS = 15


def test_staff_phone_edit_and_hand_over_at_once_both_survive(make_order, staff):
    for n in range(ROUNDS):
        order = advance(accepted_order(make_order), ["start_pick", "finish_pick"], staff)
        order = advance(order, ["pack_and_label"], staff)
        shown = snapshot(fresh(order))  # the page staff opened
        phone = f"+1 555 01{n:02d}"
        mine, theirs = copies(order, 2)
        outcomes = race(
            lambda o=mine, s=shown, p=phone: order_staff_edit(
                order=o, by=staff, shown=s, changes={"customer_phone": p}
            ),
            lambda o=theirs: advance(o, ["hand_over"], staff),
        )
        assert sorted(kind for kind, _ in outcomes) == ["ok", "ok"]
        after = fresh(order)
        assert after.customer_phone == phone
        assert (after.status, after.carrier) == ("shipped", "UPS")
        assert after.tracking_number == f"1ZRACE{order.pk:08d}"
        assert_history_chains(order)
        assert_stock_consistent()


def test_staff_address_edit_and_merchant_address_edit_at_once_never_mix(make_order, staff, manager):
    outcomes_seen = Counter()
    for n in range(ROUNDS):
        order = accepted_order(make_order)
        shown = snapshot(fresh(order))
        merchant_address = {**US_ADDRESS, "address1": f"{n + 10} Broadway", "postal_code": "10004"}
        mine, theirs = copies(order, 2)
        outcomes = race(
            lambda o=mine, s=shown: order_staff_edit(
                order=o, by=staff, shown=s, changes={"address2": "Suite 9"}
            ),
            lambda o=theirs, a=merchant_address: order_edit_address(order=o, by=manager, address=a),
        )
        staff_kind, merchant_kind = (kind for kind, _ in outcomes)
        assert merchant_kind == "ok"
        assert staff_kind in ("ok", "changed")
        if staff_kind == "changed":
            assert isinstance(outcomes[0][1], StaleEdit)
            assert "Address line 1" in outcomes[0][1].message
        outcomes_seen[staff_kind] += 1
        after = fresh(order)
        # Whoever came first, the order ends with the merchant's whole address, which is
        # what the applied address change record says.
        change = AddressChange.objects.get(order=order)
        assert change.applied
        assert {k: getattr(after, k) for k in change.address} == change.address
    assert sum(outcomes_seen.values()) == ROUNDS


def test_stock_received_and_hand_over_at_once_count_the_shipped_unit_once(make_order, staff):
    for n in range(ROUNDS):
        order = advance(accepted_order(make_order), ["start_pick", "finish_pick"], staff)
        order = advance(order, ["pack_and_label"], staff)
        level = InventoryLevel.objects.get(center=order.center, product__sku="TEE-1")
        shown = level.on_hand  # what the stock page showed
        params = {"carrier": "UPS", "tracking_number": f"1ZSTOCK{n:08d}"}
        labeled = fresh(order)
        outcomes = race(
            lambda lv=level, s=shown: stock_adjust(
                level=lv, by=staff, delta=10, shown_on_hand=s, what="received 10"
            ),
            lambda o=labeled, p=params: order_transition(
                order=o, name="hand_over", by=staff, params=p
            ),
        )
        assert sorted(kind for kind, _ in outcomes) == ["ok", "ok"]
        assert InventoryLevel.objects.get(pk=level.pk).on_hand == shown - 1 + 10
        assert_stock_consistent()
