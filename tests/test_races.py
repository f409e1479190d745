"""Races on PostgreSQL: people and machines acting on the same order at the same moment.

Each round starts real threads (each with its own database connection) behind a barrier so
they hit the same rows together, then checks what the issue promises:

- exactly one of the competing transitions wins; the others get the service's answer
  (OrderChanged, "changed meanwhile", or an ActionRefused that says why not);
- the history has exactly one StatusChange row per applied change, and its rows chain
  (each row starts where the previous one ended, the last ends at the order's status);
- stock stays consistent: never negative, reserved never above on hand, and reserved equals
  what the orders still holding stock need (a double release or double reserve shows here).

SQLite has no row locks (it serialises writers), so these only run on PostgreSQL; CI runs the
suite a second time with DATABASE_URL pointing at PostgreSQL.
"""

import datetime
import json
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from orders import review
from orders.models import InventoryLevel, Order, OrderLine, Product, StatusChange, TrackingEvent
from orders.review import review_order
from orders.services import (
    ActionRefused,
    OrderChanged,
    order_cancel,
    order_clean_sweep,
    order_create,
    order_edit_address,
    order_transition,
)
from orders.tasks import reviews_deferred
from orders.tracking import WebhookRefused, parse_event, record_tracking_event

from .conftest import US_ADDRESS

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="race tests need PostgreSQL row locks (SQLite serialises all writers, so "
        "there is no race to lose); set DATABASE_URL=postgres://... to run them",
    ),
]

ROUNDS = 25
RACES = Counter()  # scenario -> rounds run, reported at the end of the module


@pytest.fixture(scope="module", autouse=True)
def report_races(request):
    """Say how many races ran, on the terminal even under -q and output capture."""
    yield
    if not RACES:
        return
    detail = ", ".join(f"{name} {n}" for name, n in sorted(RACES.items()))
    line = f"races on PostgreSQL: {sum(RACES.values())} rounds ({detail})"
    capture = request.config.pluginmanager.getplugin("capturemanager")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    with capture.global_and_fixture_disabled():
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line(line)
        else:
            print(line)


# --- running things at the same moment -----------------------------------------------------


def race(*calls):
    """Run each call in its own thread and connection, all released at once. Returns one
    (kind, value) per call: ("ok", result), ("changed", OrderChanged), ("refused",
    ActionRefused), ("webhook", WebhookRefused) or ("error", anything else)."""
    start = threading.Barrier(len(calls), timeout=20)
    outcomes = [None] * len(calls)

    def run(i, call):
        try:
            start.wait()
            outcomes[i] = ("ok", call())
        except OrderChanged as exc:
            outcomes[i] = ("changed", exc)
        except ActionRefused as exc:
            outcomes[i] = ("refused", exc)
        except WebhookRefused as exc:
            outcomes[i] = ("webhook", exc)
        except Exception as exc:  # reported by the assertions, never swallowed
            outcomes[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a racing thread hung (deadlock?)"
    errors = [v for kind, v in outcomes if kind == "error"]
    assert errors == [], f"unexpected errors: {errors!r}"
    return outcomes


def kinds(outcomes):
    return sorted(kind for kind, _ in outcomes)


def fresh(order):
    return Order.objects.get(pk=order.pk)


def copies(order, k):
    """What k people have on their screens: each their own copy of the order as it is now."""
    return [fresh(order) for _ in range(k)]


def history(order):
    return list(
        StatusChange.objects.filter(order=order)
        .order_by("id")
        .values_list("field", "transition", "source", "target")
    )


def assert_history_chains(order):
    """Per status field, each row starts where the previous ended and the last row ends at
    the order's current value: a lost or doubled change breaks the chain."""
    order = fresh(order)
    for field in ("status", "payment_status"):
        rows = [r for r in history(order) if r[0] == field]
        current = rows[0][3] if field == "status" else "pending"
        for _field, name, source, target in rows[1 if field == "status" else 0 :]:
            assert source == current, f"{order.number} {field}: {name} from {source}, not {current}"
            current = target
        assert current == getattr(order, field), f"{order.number} {field} history ends at {current}"


def assert_stock_consistent():
    """No level negative or over-reserved, and reserved is exactly what the orders still
    holding stock need."""
    needed = Counter()
    for center_id, product_id, qty in OrderLine.objects.filter(
        order__stock_reserved=True, product__isnull=False
    ).values_list("order__center_id", "product_id", "quantity"):
        needed[center_id, product_id] += qty
    for level in InventoryLevel.objects.all():
        assert 0 <= level.reserved <= level.on_hand, f"inconsistent stock: {level} {level.reserved}"
        held = needed[level.center_id, level.product_id]
        assert level.reserved == held, f"{level}: reserved {level.reserved}, orders hold {held}"


def accepted_order(make_order):
    """A stock order accepted by the real review (it runs inline when the order is created)."""
    order = fresh(make_order())
    assert order.status == "processing" and order.stock_reserved
    return order


def advance(order, names, staff):
    for name in names:
        params = {"carrier": "UPS", "tracking_number": f"1ZRACE{order.pk:08d}"}
        order = order_transition(
            order=order, name=name, by=staff, params=params if name == "hand_over" else None
        )
    return fresh(order)


def level_of(order):
    line = order.lines.get()
    return InventoryLevel.objects.get(center=order.center, product=line.product)


# --- (a) merchant cancel vs clean sweep vs staff start-pick --------------------------------

TARGET_OF = {"cancel": "cancelled", "clean_sweep": "clean_swept", "start_pick": "pick_in_process"}


def test_cancel_clean_sweep_and_start_pick_at_once(make_order, manager, staff):
    wins = Counter()
    for _ in range(ROUNDS):
        order = accepted_order(make_order)
        reserved_before = level_of(order).reserved
        rows_before = len(history(order))
        # Each actor holds the order as they saw it: Processing.
        seen = copies(order, 3)
        outcomes = race(
            lambda o=seen[0]: order_cancel(order=o, by=manager),
            lambda o=seen[1]: order_clean_sweep(order=o, by=manager),
            lambda o=seen[2]: order_transition(order=o, name="start_pick", by=staff),
        )
        assert kinds(outcomes) == ["changed", "changed", "ok"]
        winner = ["cancel", "clean_sweep", "start_pick"][[k for k, _ in outcomes].index("ok")]
        wins[winner] += 1
        after = fresh(order)
        assert after.status == TARGET_OF[winner]
        for kind, exc in outcomes:
            if kind == "changed":
                assert "changed meanwhile" in exc.message
                assert exc.order.status == TARGET_OF[winner]
        new_rows = history(order)[rows_before:]
        status_rows = [(r[1], r[2], r[3]) for r in new_rows if r[0] == "status"]
        assert status_rows == [(winner, "processing", TARGET_OF[winner])]
        payment_rows = [r[1] for r in new_rows if r[0] == "payment_status"]
        assert payment_rows == (["cancel_payment"] if winner == "cancel" else [])
        assert_history_chains(order)
        # Cancel and clean sweep release the unit once; start-pick keeps it reserved.
        released = 0 if winner == "start_pick" else 1
        assert level_of(after).reserved == reserved_before - released
        assert_stock_consistent()
        RACES["cancel/sweep/pick"] += 1
    assert RACES["cancel/sweep/pick"] == ROUNDS
    assert sum(wins.values()) == ROUNDS


# --- (b) carrier events vs merchant cancel --------------------------------------------------


TO_SHIPPED = ["start_pick", "finish_pick", "pack_and_label", "hand_over"]


def tracking_event(order, event_id, code, minutes_ago=1):
    occurred = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    body = {
        "event_id": event_id,
        "tracking_number": order.tracking_number,
        "code": code,
        "occurred_at": occurred.isoformat(),
        "location": "Newark, NJ",
    }
    return parse_event(json.dumps(body))


def test_carrier_events_vs_merchant_cancel_on_a_shipped_order(make_order, manager, staff):
    for n in range(ROUNDS):
        order = advance(accepted_order(make_order), TO_SHIPPED, staff)
        assert order.status == "shipped" and not order.stock_reserved
        on_hand_before = level_of(order).on_hand
        rows_before = len(history(order))
        scan = tracking_event(order, f"EV-{n}-scan", "in_transit")
        # The carrier retries the same event while the first call is still running.
        outcomes = race(
            lambda ev=scan: record_tracking_event(event=dict(ev)),
            lambda ev=scan: record_tracking_event(event=dict(ev)),
            lambda o=order: order_cancel(order=o, by=manager),
        )
        (k1, r1), (k2, r2), (k3, r3) = outcomes
        # The scan is applied exactly once; its duplicate is refused as already received.
        assert sorted([k1, k2]) == ["ok", "webhook"]
        applied = r1 if k1 == "ok" else r2
        duplicate = r2 if k1 == "ok" else r1
        assert applied.moved and duplicate.status == 409
        # A shipped order cannot be cancelled: the merchant hears why, or that it changed.
        assert k3 in ("refused", "changed")
        assert "already shipped" in r3.message or "changed meanwhile" in r3.message
        after = fresh(order)
        assert after.status == "in_transit"
        assert TrackingEvent.objects.filter(order=order).count() == 1
        new_rows = history(order)[rows_before:]
        assert new_rows == [("status", "scan", "shipped", "in_transit")]
        assert after.payment_status == order.payment_status
        assert_history_chains(order)
        # Stock was consumed once at hand-over; neither the race nor the refusal touched it.
        assert level_of(after).on_hand == on_hand_before
        assert_stock_consistent()
        RACES["carrier/cancel"] += 1
    assert RACES["carrier/cancel"] == ROUNDS


def test_two_carrier_events_for_one_parcel_at_once(make_order, staff):
    """The carrier sends "out for delivery" and, delayed, the earlier "in transit" scan at
    the same moment: whichever arrives first, the parcel ends out for delivery, both events
    are kept, and each applied move has its one history row."""
    for n in range(ROUNDS):
        order = advance(accepted_order(make_order), TO_SHIPPED, staff)
        rows_before = len(history(order))
        later = tracking_event(order, f"EV-{n}-ofd", "out_for_delivery", minutes_ago=1)
        earlier = tracking_event(order, f"EV-{n}-transit", "in_transit", minutes_ago=30)
        outcomes = race(
            lambda ev=later: record_tracking_event(event=ev),
            lambda ev=earlier: record_tracking_event(event=ev),
        )
        assert kinds(outcomes) == ["ok", "ok"]
        assert outcomes[0][1].moved  # the newest event always moves the order
        after = fresh(order)
        assert after.status == "out_for_delivery"
        assert TrackingEvent.objects.filter(order=order).count() == 2
        moves = [r[1] for r in history(order)[rows_before:]]
        # In transit first then out for delivery, or straight to out for delivery (the older
        # scan then arrives late and is stored only).
        assert moves in (["scan", "out_for_delivery"], ["out_for_delivery"])
        assert outcomes[1][1].moved == (moves == ["scan", "out_for_delivery"])
        assert_history_chains(order)
        assert_stock_consistent()
        RACES["carrier/carrier"] += 1
    assert RACES["carrier/carrier"] == ROUNDS


def test_last_moment_cancel_vs_pack_and_label(make_order, manager, staff):
    """Picked is the last state a stock order can be cancelled in: the cancel and the
    packer race for it."""
    wins = Counter()
    for _ in range(ROUNDS):
        order = advance(accepted_order(make_order), ["start_pick", "finish_pick"], staff)
        rows_before = len(history(order))
        seen = copies(order, 2)
        outcomes = race(
            lambda o=seen[0]: order_cancel(order=o, by=manager),
            lambda o=seen[1]: order_transition(order=o, name="pack_and_label", by=staff),
        )
        assert kinds(outcomes) == ["changed", "ok"]
        winner = "cancel" if outcomes[0][0] == "ok" else "pack_and_label"
        wins[winner] += 1
        after = fresh(order)
        target = {"cancel": "cancelled", "pack_and_label": "labeled"}[winner]
        assert after.status == target
        status_rows = [r for r in history(order)[rows_before:] if r[0] == "status"]
        assert status_rows == [("status", winner, "picked", target)]
        assert after.stock_reserved == (winner == "pack_and_label")
        assert_history_chains(order)
        assert_stock_consistent()
        RACES["cancel/pack"] += 1
    assert RACES["cancel/pack"] == ROUNDS


# --- (c) two merchant cancels at once -------------------------------------------------------


def test_two_cancels_at_once_refund_once(make_order, manager, staff):
    for _ in range(ROUNDS):
        order = order_transition(order=accepted_order(make_order), name="mark_paid", by=staff)
        order = fresh(order)
        rows_before = len(history(order))
        seen = copies(order, 2)
        outcomes = race(
            lambda o=seen[0]: order_cancel(order=o, by=manager),
            lambda o=seen[1]: order_cancel(order=o, by=manager),
        )
        assert kinds(outcomes) == ["changed", "ok"]
        after = fresh(order)
        assert after.status == "cancelled"
        # The paid order is refunded exactly once, in full.
        assert (after.payment_status, after.refunded_amount) == ("refunded", order.total)
        # The refund is recorded as its own row, before the cancel that caused it.
        assert sorted(history(order)[rows_before:]) == [
            ("payment_status", "refund", "paid", "refunded"),
            ("status", "cancel", "processing", "cancelled"),
        ]
        assert not after.stock_reserved
        assert_history_chains(order)
        assert_stock_consistent()
        RACES["cancel/cancel"] += 1
    assert RACES["cancel/cancel"] == ROUNDS


# --- (d) the last unit of stock -------------------------------------------------------------


def test_two_reviews_for_the_last_unit(merchant, products, centers, monkeypatch):
    """Both reviews see the unit available before either reserves it (the barrier inside
    the facility choice makes sure): the conditional reservation lets exactly one have it."""
    real = review.candidate_centers
    looked = {}

    def look_then_wait(order, lines, cache):
        seen = real(order, lines, cache)
        looked["barrier"].wait()
        return seen

    monkeypatch.setattr(review, "candidate_centers", look_then_wait)
    home, abroad = centers
    for n in range(ROUNDS):
        product = Product.objects.create(merchant=merchant, sku=f"LAST-{n}", name="Last one")
        InventoryLevel.objects.create(center=home, product=product, on_hand=1)
        InventoryLevel.objects.create(center=abroad, product=product, on_hand=0)
        with reviews_deferred():
            orders = [
                order_create(
                    merchant=merchant,
                    by="test",
                    number=f"LAST-{n}-{i}",
                    lines=[{"sku": product.sku, "quantity": 1}],
                    ship_option="Standard",
                    total=Decimal("10.00"),
                    **US_ADDRESS,
                )
                for i in range(2)
            ]
        looked["barrier"] = threading.Barrier(2, timeout=20)
        race(*[lambda pk=o.pk: review_order(pk) for o in orders])
        after = sorted(
            Order.objects.filter(pk__in=[o.pk for o in orders]).values_list(
                "status", "hold_reason", "stock_reserved"
            )
        )
        assert after == [
            ("action_required", "insufficient_inventory", False),
            ("processing", "", True),
        ]
        stock = InventoryLevel.objects.get(center=home, product=product)
        assert (stock.on_hand, stock.reserved) == (1, 1)
        for order in orders:
            targets = [r[3] for r in history(order) if r[0] == "status"]
            assert targets in (
                ["import_review", "processing"],
                ["import_review", "action_required"],
            )
            assert_history_chains(order)
        assert_stock_consistent()
        RACES["last unit"] += 1
    assert RACES["last unit"] == ROUNDS


# --- (e) staff transitions racing each other, and changes that must both survive ----------


STAFF_RACES = {
    # flow: (how to get there, the competing transitions with their params and targets)
    "stock": (
        [],
        {
            "start_pick": ({}, "pick_in_process"),
            "hold": ({"reason": "special_requirements", "note": "Gift wrap?"}, "action_required"),
        },
    ),
    "print": (
        ["start_upload"],
        {
            "pass_file": ({}, "passed"),
            "fail": ({"reason": "The artwork file is corrupt."}, "failed"),
        },
    ),
}


def test_staff_transitions_racing_each_other(make_order, staff):
    """Two operators act on the same order from two screens: start-pick vs hold on an
    accepted stock order, pass file check vs fail on a print order being uploaded."""
    wins = Counter()
    for n in range(ROUNDS):
        flow = "stock" if n % 2 == 0 else "print"
        path, competing = STAFF_RACES[flow]
        order = fresh(make_order(kind=flow))
        assert order.status == "processing"
        order = advance(order, path, staff)
        seen_status = order.status
        reserved_before = order.stock_reserved
        rows_before = len(history(order))
        names = list(competing)
        outcomes = race(
            *[
                lambda o=o, name=name, params=competing[name][0]: order_transition(
                    order=o, name=name, by=staff, params=params
                )
                for o, name in zip(copies(order, len(names)), names, strict=True)
            ]
        )
        assert kinds(outcomes) == ["changed", "ok"], outcomes
        winner = names[[k for k, _ in outcomes].index("ok")]
        wins[winner] += 1
        target = competing[winner][1]
        after = fresh(order)
        assert after.status == target
        status_rows = [r for r in history(order)[rows_before:] if r[0] == "status"]
        assert status_rows == [("status", winner, seen_status, target)]
        assert (after.hold_reason == "special_requirements") == (winner == "hold")
        assert after.stock_reserved == reserved_before
        assert_history_chains(order)
        assert_stock_consistent()
        RACES["staff/staff"] += 1
    assert RACES["staff/staff"] == ROUNDS


def test_two_partial_refunds_at_once_both_count(make_order, staff):
    """Partially refunded -> partially refunded keeps the payment status, so only the row
    lock (not the state check on save) stops the second refund from overwriting the first."""
    for _ in range(ROUNDS):
        order = order_transition(order=accepted_order(make_order), name="mark_paid", by=staff)
        order = order_transition(order=order, name="refund", by=staff, params={"amount": "5"})
        order = fresh(order)
        assert (order.payment_status, order.refunded_amount) == ("partially_refunded", 5)
        rows_before = len(history(order))
        seen = copies(order, 2)
        outcomes = race(
            lambda o=seen[0]: order_transition(
                order=o, name="refund", by=staff, params={"amount": "7"}
            ),
            lambda o=seen[1]: order_transition(
                order=o, name="refund", by=staff, params={"amount": "11"}
            ),
        )
        assert kinds(outcomes) == ["ok", "ok"]
        after = fresh(order)
        assert after.refunded_amount == Decimal("23.00")
        assert after.payment_status == "partially_refunded"
        new_rows = history(order)[rows_before:]
        assert [r[1] for r in new_rows] == ["refund", "refund"]
        assert_history_chains(order)
        RACES["refund/refund"] += 1
    assert RACES["refund/refund"] == ROUNDS


def test_address_edit_and_start_pick_at_once_both_survive(make_order, manager, staff):
    """An address edit is not a transition; the staff transition saving a stale copy of the
    order would silently put the old address back."""
    for n in range(ROUNDS):
        order = accepted_order(make_order)
        new_address = {**US_ADDRESS, "address1": f"{n + 2} Broadway", "postal_code": "10004"}
        seen = copies(order, 2)
        outcomes = race(
            lambda o=seen[0], a=new_address: order_edit_address(order=o, by=manager, address=a),
            lambda o=seen[1]: order_transition(order=o, name="start_pick", by=staff),
        )
        assert kinds(outcomes) == ["ok", "ok"]
        after = fresh(order)
        assert after.status == "pick_in_process"
        assert after.address1 == f"{n + 2} Broadway"
        assert after.address_changes.count() == 1
        assert_history_chains(order)
        assert_stock_consistent()
        RACES["address/pick"] += 1
    assert RACES["address/pick"] == ROUNDS
