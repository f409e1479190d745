"""The live demo simulator moves orders the way real actors do: staff steps through the
services, carrier events through the signed webhook, new orders through the importer, holds
resolved by the merchant, the payment provider or staff; and over a long run it keeps every
status tab and sub-status of the demo in use without growing the database without bound."""

import datetime
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from orders import statuses as st
from orders.counts import status_counts
from orders.management.commands.simulate_operations import Command
from orders.models import (
    AddressChange,
    InventoryLevel,
    Merchant,
    Order,
    Product,
    StatusChange,
    TrackingEvent,
)
from orders.services import order_transition

# Unit-test settings: no time passes (so no new orders and no incidents), every waiting order
# takes its step each round, and no merchant keeps orders back.
EVERY_ORDER_MOVES = ["--interval", "0", "--pace", "0", "--keep", "0"]


def _simulate(*args, **options):
    out = io.StringIO()
    base = ["--force", "--user", "olga", "--fast", "--seed", "7", *EVERY_ORDER_MOVES]
    call_command("simulate_operations", *base, *args, stdout=out, stderr=out)
    return out.getvalue()


def _fresh(order):
    return Order.objects.get(pk=order.pk)


def _age(*orders, minutes=60):
    """Time columns only: the orders have been waiting in their state for a while, the
    first one longest."""
    now = timezone.now()
    for n, order in enumerate(orders):
        Order.objects.filter(pk=order.pk).update(
            status_changed_at=now - datetime.timedelta(minutes=minutes - n)
        )


def test_one_round_moves_each_waiting_order_one_step_as_the_staff_user(make_order, drive, staff):
    to_pick = drive(make_order(), "processing")
    to_pack = drive(make_order(), "picked")
    to_print = drive(make_order(kind="print"), "in_production")
    to_ship = drive(make_order(), "labeled")

    output = _simulate("--once")

    assert _fresh(to_pick).status == "pick_in_process"  # one step, not on to picked
    assert _fresh(to_pack).status == "labeled"
    assert _fresh(to_print).status == "printed"
    shipped = _fresh(to_ship)
    assert shipped.status == "shipped"
    assert shipped.carrier == "USPS" and shipped.tracking_number  # from the ship-option mapping
    for order, name in [(to_pick, "start_pick"), (to_pack, "pack_and_label")]:
        assert StatusChange.objects.get(order=order, transition=name).actor == staff
    assert f"{to_pick.number}: Processing -> Pick in Process" in output


def test_each_merchant_keeps_its_newest_orders_waiting_in_a_step(make_order, drive):
    orders = [drive(make_order(), "processing") for _ in range(4)]
    _age(*orders)
    _simulate("--once", "--keep", "3")
    assert [_fresh(o).status for o in orders] == ["pick_in_process"] + ["processing"] * 3


def test_with_a_real_pace_a_round_moves_only_some_of_the_waiting_orders(make_order, drive):
    orders = [drive(make_order(), "processing") for _ in range(12)]
    _simulate("--once", "--interval", "60", "--pace", "1", "--orders-per-hour", "0")
    moved = sum(_fresh(o).status != "processing" for o in orders)
    # A 4-minute mean wait and a 1-minute round: about a fifth move, not all, not none.
    assert 0 < moved < 8


def test_an_order_goes_from_processing_to_the_end_of_its_journey_with_each_step_recorded(
    make_order, drive
):
    order = drive(make_order(), "processing")
    _simulate("--steps", "20")
    order = _fresh(order)
    assert order.status in ("delivered", "returned")
    steps = list(
        StatusChange.objects.filter(order=order, field="status")
        .order_by("id")
        .values_list("transition", "actor_name")
    )
    names = [name for name, _actor in steps]
    assert names[:7] == [
        "import",
        "accept",
        "start_pick",
        "finish_pick",
        "pack_and_label",
        "hand_over",
        "scan",
    ]
    assert names[-1] in ("deliver", "return_to_sender")
    assert all(actor == "carrier" for _name, actor in steps[6:])
    events = TrackingEvent.objects.filter(order=order)
    assert events.count() >= len(steps) - 6
    assert all(e.event_id.startswith("sim-") for e in events)


def test_carrier_events_go_through_the_signed_webhook(make_order, drive):
    shipped = drive(make_order(), "shipped")
    with override_settings(TRACKING_WEBHOOK_SECRET=""):
        output = _simulate("--once")
    # The real webhook refuses every call without a configured secret: nothing moved.
    assert _fresh(shipped).status == "shipped"
    assert not TrackingEvent.objects.exists()
    assert "carrier event refused" in output
    _simulate("--once")
    assert TrackingEvent.objects.filter(order=shipped).exists()
    assert _fresh(shipped).status != "shipped"


def _simulator(**options):
    sim = Command(stdout=io.StringIO(), stderr=io.StringIO())
    sim.configure(**{"user": "olga", "seed": 7, "force": True, **options})
    return sim


# Every hold reason review can give a new order (special requirements come from staff).
REVIEW_HOLDS = [h.value for h in st.HOLD_REASONS if h.value != "special_requirements"]


@pytest.mark.parametrize("kind", ["fine", "draft", *REVIEW_HOLDS])
def test_new_orders_come_in_through_the_importer_some_held_for_each_reason(
    kind, merchant, products, centers, staff, django_capture_on_commit_callbacks
):
    Product.objects.create(
        merchant=merchant, sku="LEGACY-1", name="Old", kind="stock", connected=False
    )
    sold_out = Product.objects.create(merchant=merchant, sku="GONE-1", name="Gone", kind="stock")
    InventoryLevel.objects.create(center=centers[0], product=sold_out, on_hand=0)
    sim = _simulator(interval=0)
    with django_capture_on_commit_callbacks(execute=True):  # the review runs on commit
        made = sim.new_order(kind=kind)
    order = _fresh(made)
    assert order.number.startswith("SIM-")
    assert StatusChange.objects.filter(order=order, transition="import").exists()
    assert order.lines.exists()
    if kind == "fine":
        assert (order.status, order.payment_status) == ("processing", "paid")
    elif kind == "draft":
        assert order.status == "draft"
    else:
        assert (order.status, order.hold_reason) == ("action_required", kind)


def _held(make_order, reason, **fields):
    order = make_order(**fields)
    if reason == "payment_refused":
        return order_transition(order=order, name="refuse_payment", by="payments")
    return order_transition(order=order, name="hold", by="review", params={"reason": reason})


@pytest.mark.parametrize(
    "reason,status,actor,transition",
    [
        ("invalid_address", "import_review", "alice", "retry"),
        ("pending_personalization", "import_review", "alice", "retry"),
        ("payment_refused", "import_review", "payments", "retry"),
        ("special_requirements", "import_review", "olga", "release"),
        ("not_connected", "cancelled", "alice", "cancel"),
        ("insufficient_inventory", "cancelled", "alice", "cancel"),
        ("product_configuration", "clean_swept", "alice", "clean_sweep"),
    ],
)
def test_holds_are_resolved_by_whoever_owns_them(
    reason, status, actor, transition, make_order, manager, staff
):
    order = _held(make_order, reason)
    _simulate("--once")
    order = _fresh(order)
    assert order.status == status
    last = StatusChange.objects.filter(order=order, field="status").latest("id")
    assert (last.transition, last.actor_name) == (transition, actor)
    if reason == "invalid_address":
        assert AddressChange.objects.filter(order=order, applied=True).exists()
    if reason == "product_configuration":
        again = Order.objects.get(number=order.number, reimport_of=order)
        assert again.status == "import_review" and again.payment_status == "paid"


def test_staff_approve_most_orders_waiting_for_approval_and_decline_some(
    make_order, manager, staff
):
    orders = [_held(make_order, "pending_approval") for _ in range(12)]
    _simulate("--once")
    outcomes = {_fresh(o).status for o in orders}
    assert outcomes == {"import_review", "cancelled"}


def test_drafts_get_submitted_by_the_merchant(make_order, manager, staff):
    draft = make_order(draft=True)
    _simulate("--once")
    assert _fresh(draft).status == "import_review"
    assert StatusChange.objects.get(order=draft, transition="submit").actor == manager


def test_refuses_to_run_with_debug_off_unless_forced(staff, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("simulate_operations", "--once", "--user", "olga")


def test_needs_a_staff_user(db):
    with pytest.raises(CommandError, match="No staff user"):
        _simulate("--once")


# -- the long run ---------------------------------------------------------------------------


def _spread(merchant):
    """{group: n} and {state or hold reason: n} as the dashboard's tabs and chips show them."""
    counts = status_counts(merchant)
    per_state, per_reason = {}, {}
    for (status, reason), n in counts.items():
        per_state[status] = per_state.get(status, 0) + n
        if reason:
            per_reason[reason] = per_reason.get(reason, 0) + n
    tabs = {
        g.value: sum(per_state.get(s, 0) for s in st.STATES_BY_GROUP[g.value]) for g in st.GROUPS
    }
    chips = {s.value: per_state.get(s.value, 0) for s in st.STATES}
    chips.update({h.value: per_reason.get(h.value, 0) for h in st.HOLD_REASONS})
    return tabs, chips


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # review runs on commit, as in `make run`
def test_half_an_hour_of_demo_keeps_every_tab_and_chip_in_use_and_the_database_bounded():
    call_command("seed_demo", "--orders", "30", stdout=io.StringIO())
    acme = Merchant.objects.get(slug="acme")
    before = Order.objects.count()
    delivered = Order.objects.filter(status="delivered").count()
    sim = _simulator(user="ops", interval=30, max_orders=before + 200)
    emptied = []
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for n in range(60):  # 30 minutes of 30-second rounds
            clock.shift(datetime.timedelta(seconds=30))
            sim.round()
            tabs, chips = _spread(acme)
            emptied += [(n, name) for name, count in tabs.items() if not count]
            if n % 10 == 9:
                emptied += [(n, name) for name, count in chips.items() if not count]
    assert emptied == []
    run = StatusChange.objects.filter(created_at__gt=start, field="status")
    arrived = Order.objects.filter(number__startswith="SIM-")
    # Alive: new orders came in (about 75 an hour expected in half an hour at 150 an hour),
    # went all the way, and holds of every kind were resolved.
    assert 40 <= arrived.count() <= 110
    assert arrived.filter(status__in=st.SHIPPED_STATES).exists()
    assert Order.objects.filter(status="delivered").count() > delivered
    resolved = set(run.values_list("transition", flat=True))
    assert {"retry", "approve", "release", "clean_sweep", "cancel"} <= resolved
    assert {"submit", "hand_over", "deliver"} <= resolved
    log = sim.stdout.getvalue()
    held_kinds = [k for k in REVIEW_HOLDS if f"({k.replace('_', ' ')})" in log]
    assert len(held_kinds) >= 5, held_kinds  # new orders get held, for various reasons
    # Bounded: at the cap no more orders come in, and the tabs still keep their orders.
    sim = _simulator(user="ops", interval=30, max_orders=Order.objects.count())
    for _ in range(10):
        sim.round()
    assert Order.objects.count() == sim.max_orders
    tabs, _chips = _spread(acme)
    assert all(tabs.values()), tabs
    assert "no new orders from now on" in sim.stdout.getvalue()
