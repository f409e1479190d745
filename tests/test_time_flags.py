"""Stuck (Import Review over 10 minutes) and late (past ship-by, not yet labelled), with the
clock frozen; and every flag's rule read the same way by the lists (the database), the
order page and API (one order), the kept counts and the export."""

import csv
import datetime
import io
from collections import Counter

import time_machine
from django.utils import timezone

from dashboard.views.export import _export_rows
from orders import statuses as st
from orders.models import Order
from orders.models import queryset as rules
from orders.review import review_order
from orders.statuses import Status

START = datetime.datetime(2026, 3, 2, 15, 0, tzinfo=datetime.UTC)  # a Monday, 10:00 in Newark


def test_order_in_review_for_ten_minutes_is_not_yet_stuck(make_order):
    with time_machine.travel(START, tick=False) as clock:
        order = make_order()
        clock.shift(datetime.timedelta(minutes=10))
        assert not Order.objects.stuck().filter(pk=order.pk).exists()
        assert not Order.objects.get(pk=order.pk).is_stuck()


def test_order_in_review_over_ten_minutes_is_stuck(make_order):
    with time_machine.travel(START, tick=False) as clock:
        order = make_order()
        clock.shift(datetime.timedelta(minutes=10, seconds=1))
        assert list(Order.objects.stuck()) == [Order.objects.get(pk=order.pk)]
        assert Order.objects.get(pk=order.pk).is_stuck()
        assert Order.objects.needing_attention().filter(pk=order.pk).exists()


def test_reviewed_order_is_no_longer_stuck(make_order):
    with time_machine.travel(START, tick=False) as clock:
        order = make_order()
        clock.shift(datetime.timedelta(minutes=30))
        review_order(order.pk)
        assert not Order.objects.stuck().exists()


def test_drafts_are_never_stuck(make_order):
    with time_machine.travel(START, tick=False) as clock:
        make_order(draft=True)
        clock.shift(datetime.timedelta(hours=5))
        assert not Order.objects.stuck().exists()


def test_order_accepted_before_cutoff_is_late_after_that_day(make_order, centers):
    with time_machine.travel(START, tick=False) as clock:
        order = make_order()
        review_order(order.pk)
        order = Order.objects.get(pk=order.pk)
        assert order.status == "processing"
        local_due = order.ship_by.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
        assert local_due.date() == datetime.date(2026, 3, 2)  # same business day in Newark
        clock.move_to(order.ship_by - datetime.timedelta(seconds=1))
        assert not Order.objects.late().exists()
        clock.move_to(order.ship_by + datetime.timedelta(seconds=1))
        assert list(Order.objects.late()) == [order]
        assert Order.objects.get(pk=order.pk).is_late()
        assert Order.objects.needing_attention().filter(pk=order.pk).exists()


def test_labelled_order_is_not_late(make_order, drive):
    with time_machine.travel(START, tick=False) as clock:
        order = drive(make_order(), "labeled")
        clock.shift(datetime.timedelta(days=10))
        assert Order.objects.get(pk=order.pk).ship_by < timezone.now()
        assert not Order.objects.late().exists()
        assert not Order.objects.get(pk=order.pk).is_late()


def test_held_order_past_ship_by_is_late(make_order, drive, staff):
    from orders.services import order_transition

    with time_machine.travel(START, tick=False) as clock:
        order = drive(make_order(), "picked")
        order_transition(
            order=order, name="hold", by=staff, params={"reason": "special_requirements"}
        )
        clock.shift(datetime.timedelta(days=3))
        assert Order.objects.late().filter(pk=order.pk).exists()


# --- each rule's forms agree: the queryset, the row, the kept counts and the export ---------


def _every_kind_of_order(merchant, now):
    """One order of each state (each hold reason), changed just now or long ago, due before
    or after now (or not at all), closing within two hours or later (or not at all). Written
    straight to the table: the rules read values, however an order got them."""
    minute, hour = datetime.timedelta(minutes=1), datetime.timedelta(hours=1)
    orders = []
    for state in st.STATES:
        reasons = (
            [h.value for h in st.HOLD_REASONS] if state.value == Status.ACTION_REQUIRED else [""]
        )
        for reason in reasons:
            for changed in (now - minute, now - 11 * minute):
                for ship_by in (None, now - hour, now + hour):
                    for no_return in (None, now + 30 * minute, now + 3 * hour):
                        orders.append(
                            Order(
                                merchant=merchant,
                                number=f"R-{len(orders)}",
                                status=state.value,
                                hold_reason=reason,
                                status_changed_at=changed,
                                ship_by=ship_by,
                                no_return_by=no_return,
                            )
                        )
    Order.objects.bulk_create(orders)
    return list(Order.objects.filter(merchant=merchant))


def test_each_flag_means_the_same_in_the_database_and_on_one_order(merchant):
    now = START
    orders = _every_kind_of_order(merchant, now)
    mine = Order.objects.filter(merchant=merchant)

    def database(queryset):
        return set(queryset.values_list("number", flat=True))

    def rows(rule):
        return {o.number for o in orders if rule(o)}

    assert database(mine.stuck(now)) == rows(lambda o: o.is_stuck(now))
    assert database(mine.late(now)) == rows(lambda o: o.is_late(now))
    assert database(mine.needing_attention(now)) == rows(lambda o: o.needs_attention(now))
    assert database(mine.closing_soon(now)) == rows(lambda o: o.closing_soon(now) is not None)
    for owner in [st.YOU, st.US, st.CUSTOMER]:
        waiting = rows(
            lambda o, owner=owner: rules.is_waiting_on(
                owner, o.status, o.hold_reason, o.status_changed_at, now
            )
        )
        assert database(mine.waiting_on(owner, now)) == waiting
        # The kept counts know statuses, not times: they count all but the stuck ones.
        counts = Counter((o.status, o.hold_reason) for o in orders)
        owned = rows(lambda o, owner=owner: rules.owner_of(o.status, o.hold_reason) == owner)
        assert rules.count_owned(counts, owner) == len(owned)
        assert {o.number for o in orders if o.owner_label == st.OWNER_LABELS[owner]} == owned
    # Each flag is set somewhere and clear somewhere, or the comparisons prove little.
    for flag in ("is_stuck", "is_late", "needs_attention"):
        assert 0 < len(rows(lambda o, flag=flag: getattr(o, flag)(now))) < len(orders)


def test_the_export_flags_stuck_and_late_orders_as_the_lists_do(merchant):
    now = START
    orders = _every_kind_of_order(merchant, now)
    text = "".join(_export_rows(Order.objects.filter(merchant=merchant), now))
    exported = {row["order_number"]: row for row in csv.DictReader(io.StringIO(text))}
    assert len(exported) == len(orders)
    for order in orders:
        row = exported[order.number]
        assert (row["stuck"] == "yes") == order.is_stuck(now), order.number
        assert (row["late"] == "yes") == order.is_late(now), order.number
