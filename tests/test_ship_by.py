"""Ship-by promises: the facility's cut-off, time zone, business days and print lead time."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError

from orders.models import FulfillmentCenter
from orders.services import order_transition

NY = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def newark(db):
    return FulfillmentCenter(
        code="NJ1",
        name="Newark",
        country="US",
        time_zone="America/New_York",
        daily_cutoff=datetime.time(14, 0),
        production_lead_days=2,
    )


def local(*args):
    return datetime.datetime(*args, tzinfo=NY)


def test_stock_order_before_cutoff_is_due_the_same_day(newark):
    due = newark.ship_by_for("stock", local(2026, 11, 18, 9, 30))  # a Wednesday
    assert due.astimezone(NY).date() == datetime.date(2026, 11, 18)


def test_stock_order_after_cutoff_is_due_the_next_business_day(newark):
    due = newark.ship_by_for("stock", local(2026, 11, 18, 15, 0))
    assert due.astimezone(NY).date() == datetime.date(2026, 11, 19)


def test_friday_after_cutoff_rolls_over_the_weekend(newark):
    due = newark.ship_by_for("stock", local(2026, 11, 20, 16, 0))  # Friday
    assert due.astimezone(NY).date() == datetime.date(2026, 11, 23)  # Monday


def test_weekend_orders_are_due_monday(newark):
    due = newark.ship_by_for("stock", local(2026, 11, 21, 9, 0))  # Saturday morning
    assert due.astimezone(NY).date() == datetime.date(2026, 11, 23)


def test_print_orders_add_the_production_lead_time_in_business_days(newark):
    due = newark.ship_by_for("print", local(2026, 11, 19, 10, 0))  # Thursday
    assert due.astimezone(NY).date() == datetime.date(2026, 11, 23)  # Fri + Mon


def test_cutoff_is_read_in_the_facility_time_zone(newark):
    # 18:30 UTC is 13:30 in New York (before the 14:00 cut-off) in November.
    accepted = datetime.datetime(2026, 11, 18, 18, 30, tzinfo=datetime.UTC)
    due = newark.ship_by_for("stock", accepted)
    assert due.astimezone(NY).date() == datetime.date(2026, 11, 18)


def test_unknown_time_zone_is_a_validation_error(newark):
    newark.time_zone = "Mars/Olympus"
    with pytest.raises(ValidationError):
        newark.clean()


def test_accept_sets_center_and_ship_by(make_order, centers):
    order = order_transition(
        order=make_order(), name="accept", by="review", params={"center": centers[0]}
    )
    assert order.center == centers[0]
    assert order.ship_by is not None
