"""Races on PostgreSQL for the intake paths of issue 12: an event that moves nothing arriving
with an earlier one that does, and marking personalization complete while the merchant
cancels or someone else marks it too. Same machinery and checks as tests/test_races.py."""

import pytest

from orders.holds import order_complete_personalization
from orders.models import Order, TrackingEvent
from orders.review import review_order
from orders.services import order_cancel, order_create
from orders.tracking import record_tracking_event

from .conftest import US_ADDRESS
from .test_races import (
    ON_POSTGRES,
    RACES,
    TO_SHIPPED,
    accepted_order,
    advance,
    assert_history_chains,
    assert_stock_consistent,
    copies,
    fresh,
    history,
    kinds,
    race,
    tracking_event,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not ON_POSTGRES, reason="race tests need PostgreSQL row locks"),
]

ROUNDS = 15


def test_info_event_and_an_earlier_scan_at_once_always_end_in_transit(make_order, staff):
    for n in range(ROUNDS):
        order = advance(accepted_order(make_order), TO_SHIPPED, staff)
        rows_before = len(history(order))
        info = tracking_event(order, f"IN-{n}-info", "info_received", minutes_ago=1)
        scan = tracking_event(order, f"IN-{n}-scan", "in_transit", minutes_ago=60)
        outcomes = race(
            lambda ev=info: record_tracking_event(event=ev),
            lambda ev=scan: record_tracking_event(event=ev),
        )
        assert kinds(outcomes) == ["ok", "ok"]
        assert not outcomes[0][1].moved and outcomes[1][1].moved
        assert fresh(order).status == "in_transit"
        assert TrackingEvent.objects.filter(order=order).count() == 2
        assert history(order)[rows_before:] == [("status", "scan", "shipped", "in_transit")]
        assert_history_chains(order)
        RACES["info/scan"] += 1


def _waiting(merchant, n):
    order = order_create(
        merchant=merchant,
        by="test",
        number=f"PZR-{n}",
        lines=[{"sku": "TEE-1", "personalization": "Ann", "personalization_complete": False}],
        ship_option="Standard",
        **US_ADDRESS,
    )
    review_order(order.pk)
    held = fresh(order)
    assert held.hold_reason == "pending_personalization"
    return held


def test_personalization_complete_twice_and_a_cancel_at_once(merchant, products, centers, manager):
    for n in range(ROUNDS):
        order = _waiting(merchant, n)
        rows_before = len(history(order))
        seen = copies(order, 3)
        outcomes = race(
            lambda o=seen[0]: order_complete_personalization(order=o, by=manager),
            lambda o=seen[1]: order_complete_personalization(order=o, by=manager),
            lambda o=seen[2]: order_cancel(order=o, by=manager),
        )
        won = [i for i, (kind, _value) in enumerate(outcomes) if kind == "ok"]
        assert len(won) == 1, outcomes
        assert all(kind in ("changed", "refused") for kind, _ in outcomes if kind != "ok")
        after = Order.objects.get(pk=order.pk)
        new_rows = [r[1] for r in history(order)[rows_before:] if r[0] == "status"]
        if won == [2]:
            assert after.status == "cancelled" and new_rows == ["cancel"]
        else:
            # Sent back to review once (review then runs after commit, outside the race).
            assert new_rows[0] == "retry" and new_rows.count("retry") == 1
            assert all(line.personalization_complete for line in after.lines.all())
        assert_history_chains(order)
        assert_stock_consistent()
        RACES["personalization/cancel"] += 1
