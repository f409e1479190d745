"""Countries by ISO 3166 name or code (never guessed), postal codes per country, the pending
address change on the address card, and tracking that agrees with the status."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from orders.addresses import address_errors, country_code, normalize
from orders.models import AddressChange, Order, TrackingEvent
from orders.services import order_transition
from tests.conftest import PASSWORD, US_ADDRESS


def fresh(order):
    return Order.objects.get(pk=order.pk)


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


@pytest.mark.parametrize(
    "typed, code",
    [
        ("Germany", "DE"),
        ("germany", "DE"),
        ("DE", "DE"),
        ("deu", "DE"),
        ("Georgia", "GE"),
        ("United Kingdom", "GB"),
        ("Germny", None),
        ("Ger", None),
        ("", None),
    ],
)
def test_country_names_and_codes_are_matched_exactly(typed, code):
    assert country_code(typed) == code


@pytest.mark.parametrize(
    "country, postal, ok",
    [
        ("DE", "10115", True),
        ("DE", "1011", False),
        ("NL", "1234 AB", True),
        ("NL", "1234", False),
        ("GB", "SW1A 1AA", True),
        ("US", "10001-1234", True),
        ("JP", "100-0001", True),
        ("JP", "1000", False),
        ("IE", "", True),  # Eircodes are optional
        ("HK", "", True),  # no postal codes
    ],
)
def test_postal_codes_are_checked_per_country(country, postal, ok):
    address = {**US_ADDRESS, "region": "X", "country": country, "postal_code": postal}
    assert ("postal_code" not in address_errors(normalize(address))) is ok


def address_post(**changes):
    return {**US_ADDRESS, "address2": "", **changes}


def test_typing_germany_saves_de(client, manager, make_order):
    order = make_order()
    login(client, manager)
    response = client.post(
        f"/orders/{order.number}/address/",
        address_post(country="Germany", postal_code="10115", region="", city="Berlin"),
    )
    assert response.status_code == 302
    assert fresh(order).country == "DE"
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Germany (DE)" in page


def test_an_unknown_country_is_refused_and_nothing_changes(client, manager, make_order):
    order = make_order()
    login(client, manager)
    response = client.post(f"/orders/{order.number}/address/", address_post(country="Germny"))
    assert response.status_code == 200
    assert "is not a country we know" in response.content.decode()
    assert fresh(order).country == "US"
    assert not AddressChange.objects.filter(order=order).exists()


def test_the_address_form_offers_countries_by_name(client, manager, make_order):
    order = make_order()
    login(client, manager)
    html = client.get(f"/orders/{order.number}/address/").content.decode()
    assert '<option value="DE">Germany</option>' in html
    assert '<option value="US" selected>United States</option>' in html


def test_pending_address_change_shows_on_the_address_card(
    client, manager, staff, make_order, drive
):
    order = drive(make_order(), "labeled")
    login(client, manager)
    response = client.post(
        f"/orders/{order.number}/address/",
        address_post(address1="9 New Road", note="customer moved"),
    )
    assert response.status_code == 302
    card = _address_card(client, order)
    assert "Change requested" in card and "9 New Road" in card
    assert "pending: our staff are trying, not guaranteed" in card
    # Staff managed it: the order's address is now the requested one.
    Order.objects.filter(pk=order.pk).update(address1="9 New Road")
    assert "done: the address was changed" in _address_card(client, order)


def test_a_request_overtaken_by_delivery_says_not_possible(
    client, manager, staff, make_order, drive
):
    order = drive(make_order(), "labeled")
    login(client, manager)
    client.post(f"/orders/{order.number}/address/", address_post(address1="9 New Road"))
    order = order_transition(
        order=fresh(order),
        name="hand_over",
        by=staff,
        params={"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
    )
    order_transition(order=order, name="deliver", by="carrier")
    assert "not possible: the order was delivered first" in _address_card(client, order)


def _address_card(client, order):
    page = client.get(f"/orders/{order.number}/").content.decode()
    return page.split('id="address-heading"', 1)[1].split("</section>", 1)[0]


def _tracking_card(client, order):
    page = client.get(f"/orders/{order.number}/").content.decode()
    return page.split('id="tracking-heading"', 1)[1].split("</section>", 1)[0]


def event(order, code, hours_ago, description=""):
    return TrackingEvent.objects.create(
        order=order,
        code=code,
        description=description,
        occurred_at=timezone.now() - datetime.timedelta(hours=hours_ago),
    )


def test_delivery_exception_is_a_problem_and_never_says_no_scans(
    client, manager, make_order, drive
):
    order = drive(make_order(), "in_transit")
    event(order, "in_transit", 5, "Departed facility")
    event(order, "delivery_attempted", 1, "No access to the building")
    order = order_transition(order=order, name="exception", by="carrier")
    login(client, manager)
    card = _tracking_card(client, order)
    assert "Delivery problem:" in card and "No access to the building" in card
    assert 'class="event-problem"' in card
    assert "No carrier scans yet" not in card


def test_exception_without_events_does_not_claim_no_scans(client, manager, make_order, drive):
    order = drive(make_order(), "in_transit")
    order = order_transition(order=order, name="exception", by="carrier")
    login(client, manager)
    card = _tracking_card(client, order)
    assert "No carrier scans yet" not in card
    assert "Delivery problem:" in card


def test_awaiting_scan_longer_than_three_days_is_flagged(client, manager, make_order, drive):
    order = drive(make_order(), "shipped")
    login(client, manager)
    assert "longer than usual" not in _tracking_card(client, order)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=4)):
        card = _tracking_card(client, order)
    assert "No carrier scan for 4 days since hand-over: longer than usual." in card


def test_estimated_delivery_is_shown_when_an_event_carries_one(make_order, drive):
    """Tracking sources that send the carrier's estimate keep it on the event
    (`estimated_delivery`); the newest event that has one is shown."""
    from types import SimpleNamespace

    from dashboard.order_page import tracking_summary

    order = drive(make_order(), "in_transit")
    events = [
        SimpleNamespace(pk=2, code="in_transit", estimated_delivery=None),
        SimpleNamespace(pk=1, code="picked_up", estimated_delivery=datetime.date(2026, 6, 9)),
    ]
    assert tracking_summary(order, events, timezone.now())["eta"] == datetime.date(2026, 6, 9)
    assert tracking_summary(order, events[:1], timezone.now())["eta"] is None
