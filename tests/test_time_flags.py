"""Stuck (Import Review over 10 minutes) and late (past ship-by, not yet labelled), with the
clock frozen."""

import datetime

import time_machine
from django.utils import timezone

from orders.models import Order
from orders.review import review_order

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
