"""The live demo simulator moves orders the way real actors do: staff steps through the
services, carrier events through the signed webhook, new orders through order_create."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from orders.models import Order, StatusChange, TrackingEvent


def _simulate(*args, **options):
    out = io.StringIO()
    base = ["--force", "--user", "olga", "--interval", "0", "--new-orders", "0", "--seed", "7"]
    base += ["--chance", "1"]  # every due order moves: the outcome does not hang on the seed
    call_command("simulate_operations", *base, *args, stdout=out, stderr=out)
    return out.getvalue()


def _fresh(order):
    return Order.objects.get(pk=order.pk)


def _age(*orders, minutes=60):
    """Time columns only: the orders have been waiting in their state for a while."""
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        status_changed_at=timezone.now() - datetime.timedelta(minutes=minutes)
    )


def test_one_round_moves_each_waiting_order_one_step_as_the_staff_user(make_order, drive, staff):
    to_pick = drive(make_order(), "processing")
    to_pack = drive(make_order(), "picked")
    to_print = drive(make_order(kind="print"), "in_production")
    to_ship = drive(make_order(), "labeled")
    _age(to_pick, to_pack, to_print, to_ship)

    output = _simulate("--once", "--dwell", "300")

    assert _fresh(to_pick).status == "pick_in_process"
    assert _fresh(to_pack).status == "labeled"
    assert _fresh(to_print).status == "printed"
    shipped = _fresh(to_ship)
    assert shipped.status == "shipped"
    assert shipped.carrier == "USPS" and shipped.tracking_number  # from the ship-option mapping
    for order, name in [(to_pick, "start_pick"), (to_pack, "pack_and_label")]:
        assert StatusChange.objects.get(order=order, transition=name).actor == staff
    assert f"{to_pick.number}: Processing -> Pick in Process" in output


def test_orders_that_just_moved_wait_their_dwell_time(make_order, drive):
    fresh = drive(make_order(), "processing")  # moved a moment ago
    _simulate("--once", "--dwell", "300")
    assert _fresh(fresh).status == "processing"


def test_an_order_goes_from_processing_to_the_end_of_its_journey_with_each_step_recorded(
    make_order, drive
):
    order = drive(make_order(), "processing")
    _simulate("--steps", "40", "--dwell", "0")
    order = _fresh(order)
    assert order.status in ("delivered", "returned")
    steps = list(
        StatusChange.objects.filter(order=order, field="status")
        .order_by("id")
        .values_list("transition", "actor_name")
    )
    names = [name for name, _actor in steps]
    assert names[:6] == [
        "import",
        "accept",
        "start_pick",
        "finish_pick",
        "pack_and_label",
        "hand_over",
    ]
    assert names[6] == "scan"
    assert names[-1] in ("deliver", "return_to_sender")
    assert all(actor == "carrier" for _name, actor in steps[6:])
    events = TrackingEvent.objects.filter(order=order)
    assert events.count() >= len(steps) - 6
    assert all(e.event_id.startswith("sim-") for e in events)


def test_carrier_events_go_through_the_signed_webhook(make_order, drive):
    shipped = drive(make_order(), "shipped")
    _age(shipped)
    with override_settings(TRACKING_WEBHOOK_SECRET=""):
        output = _simulate("--once", "--dwell", "0")
    # The real webhook refuses every call without a configured secret: nothing moved.
    assert _fresh(shipped).status == "shipped"
    assert not TrackingEvent.objects.exists()
    assert "carrier event refused" in output
    _simulate("--once", "--dwell", "0")
    assert TrackingEvent.objects.filter(order=shipped).exists()
    assert _fresh(shipped).status != "shipped"


def test_new_orders_come_in_through_order_create_and_get_paid(products, staff):
    before = Order.objects.count()
    _simulate("--once", "--new-orders", "1")
    assert Order.objects.count() == before + 1
    order = Order.objects.latest("id")
    assert order.number.startswith("SIM-")
    assert StatusChange.objects.filter(order=order, transition="import").exists()
    assert order.payment_status == "paid"
    assert order.lines.exists()


def test_refuses_to_run_with_debug_off_unless_forced(staff, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("simulate_operations", "--once", "--user", "olga")


def test_needs_a_staff_user(db):
    with pytest.raises(CommandError, match="No staff user"):
        _simulate("--once")
