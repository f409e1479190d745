"""The point of no return across cut-offs, weekends, business days and time zones, with a
fixed clock; the order page's words before and after it; the Closing soon view."""

import datetime

import pytest
import time_machine

from orders import statuses as st
from orders.deadlines import point_of_no_return, time_left
from orders.models import FulfillmentCenter, Order, Product
from orders.review import review_order
from orders.services import order_transition
from tests.conftest import PASSWORD

UTC = datetime.UTC


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def newark(centers):
    return centers[0]  # America/New_York, cut-off 14:00, Mon-Fri


@pytest.fixture
def leipzig(centers):
    return centers[1]  # Europe/Berlin, cut-off 14:00, Mon-Fri


@pytest.mark.parametrize(
    "accepted, expected",
    [
        # Thu 2026-06-04 11:00 in New York (EDT, UTC-4): before the cut-off, due today 14:00.
        ("2026-06-04 15:00", "2026-06-04 18:00"),
        # Thu 14:30 New York: after the cut-off, the next business day (Fri).
        ("2026-06-04 18:30", "2026-06-05 18:00"),
        # Fri after the cut-off: Monday.
        ("2026-06-05 19:00", "2026-06-08 18:00"),
        # Saturday and Sunday: Monday.
        ("2026-06-06 12:00", "2026-06-08 18:00"),
        ("2026-06-07 23:00", "2026-06-08 18:00"),
        # Friday 23:00 UTC is still Friday 19:00 in New York, after its cut-off: Monday.
        ("2026-06-05 23:00", "2026-06-08 18:00"),
        # Winter (EST, UTC-5): the cut-off is 19:00 UTC.
        ("2026-01-15 13:00", "2026-01-15 19:00"),
    ],
)
def test_stock_cut_off_in_new_york(newark, accepted, expected):
    assert newark.no_return_for(st.STOCK, at(accepted)) == at(expected)


@pytest.mark.parametrize(
    "accepted, expected",
    [
        # Berlin (CEST, UTC+2): the 14:00 cut-off is 12:00 UTC.
        ("2026-06-04 11:59", "2026-06-04 12:00"),
        ("2026-06-04 12:00", "2026-06-05 12:00"),
        # Thu 23:30 UTC is already Fri 01:30 in Berlin: due Friday.
        ("2026-06-04 23:30", "2026-06-05 12:00"),
    ],
)
def test_stock_cut_off_in_berlin(leipzig, accepted, expected):
    assert leipzig.no_return_for(st.STOCK, at(accepted)) == at(expected)


def test_business_days_are_the_facilitys_own(newark):
    newark.business_days = "1234567"  # works weekends
    assert newark.no_return_for(st.STOCK, at("2026-06-06 12:00")) == at("2026-06-06 18:00")
    newark.business_days = "2345"  # Tue-Fri
    assert newark.no_return_for(st.STOCK, at("2026-06-06 12:00")) == at("2026-06-09 18:00")


def test_business_days_are_validated(newark):
    from django.core.exceptions import ValidationError

    for bad in ("", "8", "1123", "mon"):
        newark.business_days = bad
        with pytest.raises(ValidationError):
            newark.clean()


def test_print_waits_the_lead_time_in_business_days(newark):
    newark.production_lead_days = 2
    # Thu before the cut-off: Thu + 2 business days = Mon, production expected 14:00.
    assert newark.no_return_for(st.PRINT, at("2026-06-04 15:00")) == at("2026-06-08 18:00")
    assert newark.no_return_for(st.PRINT, at("2026-06-04 15:00"), 4) == at("2026-06-10 18:00")


def test_accept_records_the_point_of_no_return_with_the_products_lead_time(
    make_order, newark, products
):
    Product.objects.filter(sku="POSTER-1").update(production_lead_days=4)
    with time_machine.travel(at("2026-06-04 15:00"), tick=False):
        stock = Order.objects.get(pk=review_order(make_order().pk).pk)
        printed = Order.objects.get(pk=review_order(make_order(kind="print").pk).pk)
    assert stock.center == newark
    assert stock.no_return_by == at("2026-06-04 18:00")
    assert printed.no_return_by == at("2026-06-10 18:00")


def test_time_left_words():
    assert time_left(datetime.timedelta(hours=3, minutes=12, seconds=40)) == "3 h 12 min"
    assert time_left(datetime.timedelta(days=2, hours=4)) == "2 d 4 h"
    assert time_left(datetime.timedelta(minutes=9)) == "9 min"
    assert time_left(datetime.timedelta(seconds=20)) == "less than a minute"


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_order_page_counts_down_then_says_it_is_past(client, manager, staff, make_order, drive):
    with time_machine.travel(at("2026-06-04 14:48"), tick=False):  # Thu 10:48 in New York
        order = drive(make_order(), "processing")
        login(client, manager)
        page = client.get(f"/orders/{order.number}/").content.decode()
    assert "You can cancel or change this order until it is labelled — by" in page
    assert "Thu 18:00 UTC" in page
    assert 'data-countdown="2026-06-04T18:00:00+00:00">in 3 h 12 min<' in page
    assert "the facility's cut-off" in page
    with time_machine.travel(at("2026-06-04 17:05"), tick=False):
        for name in ("start_pick", "finish_pick", "pack_and_label"):
            order = order_transition(order=order, name=name, by=staff)
    with time_machine.travel(at("2026-06-04 18:30"), tick=False):
        page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Past the point of no return since Thu Jun 4, 17:05 UTC" in page
    assert "you can request an address change" in page
    assert "data-countdown" not in page


def test_an_order_not_yet_accepted_gets_an_estimate(client, manager, make_order):
    with time_machine.travel(at("2026-06-06 12:00"), tick=False):  # Saturday
        order = make_order(draft=True)
        login(client, manager)
        page = client.get(f"/orders/{order.number}/").content.decode()
    assert "expected by <time" in page and "Mon 18:00 UTC" in page
    assert "estimate: counted as if the draft were submitted now" in page


def test_print_order_says_until_production_starts(client, manager, make_order, drive):
    with time_machine.travel(at("2026-06-04 15:00"), tick=False):
        order = drive(make_order(kind="print"), "uploading")
        login(client, manager)
        page = client.get(f"/orders/{order.number}/").content.decode()
    assert "until production starts — expected by" in page
    assert "estimate: production is scheduled by the partner" in page


def test_point_of_no_return_is_an_estimate_when_the_facility_is_behind(make_order, drive):
    with time_machine.travel(at("2026-06-04 15:00"), tick=False):
        order = drive(make_order(), "picked")
    now = at("2026-06-04 19:00")  # past Thursday's cut-off, not labelled
    found = point_of_no_return(order, now)
    assert found.open and not found.certain
    assert found.at == at("2026-06-05 18:00")


def test_closing_soon_lists_accepted_orders_within_two_hours(
    client, manager, make_order, drive, merchant
):
    with time_machine.travel(at("2026-06-04 15:00"), tick=False):
        soon = drive(make_order(), "processing")  # due 18:00
    with time_machine.travel(at("2026-06-04 18:30"), tick=False):
        later = drive(make_order(), "processing")  # due Fri 18:00
    now = at("2026-06-04 16:30")
    found = set(Order.objects.for_merchant(merchant).closing_soon(now))
    assert found == {soon}
    assert later not in found
    with time_machine.travel(now, tick=False):
        login(client, manager)
        response = client.get("/orders/", {"view": "closing_soon"})
    html = response.content.decode()
    assert soon.number in html and later.number not in html
    assert "1 h 30 min left" in html


def test_facility_time_zone_is_checked():
    from django.core.exceptions import ValidationError

    center = FulfillmentCenter(code="X", name="X", country="US", time_zone="Mars/Olympus")
    with pytest.raises(ValidationError):
        center.clean()
