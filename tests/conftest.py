"""Shared fixtures: a merchant (Acme) with a manager and a viewer, an outsider who manages
another merchant, a staff user, two facilities, products of every kind with stock, and
`make_order` / `drive` helpers that build orders through the real services."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from orders.models import (
    FulfillmentCenter,
    InventoryLevel,
    Membership,
    Merchant,
    Product,
    ShipOptionMapping,
)
from orders.services import order_create, order_transition

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _search_sample_pinned(monkeypatch):
    """The sample that tells search how common each trigram is (orders.search.
    trigram_sample) is read once an hour per process: a test would pay for it or not by
    the order tests run in, and its query counts would change with it. Tests run without a
    sample (search asks the index for the whole text); tests of the sample bring their own."""
    from orders import search

    monkeypatch.setattr(search, "trigram_sample", lambda alias=None: (0, {}))


US_ADDRESS = {
    "ship_name": "Ava Smith",
    "address1": "1 Market Street",
    "city": "New York",
    "region": "NY",
    "postal_code": "10001",
    "country": "US",
}

# One good CSV line (an order of one T-shirt to New York), for tests to vary.
CSV_LINE = {
    "customer_name": "Ava Smith",
    "customer_email": "ava@example.com",
    **US_ADDRESS,
    "ship_option": "Standard",
    "sku": "TEE-1",
    "quantity": "1",
    "unit_price": "20.00",
}

# The transitions that take a status from import_review to each state, per flow.
PATHS = {
    "stock": [
        "accept",
        "start_pick",
        "finish_pick",
        "pack_and_label",
        "hand_over",
        "scan",
        "out_for_delivery",
        "deliver",
    ],
    "print": [
        "accept",
        "start_upload",
        "pass_file",
        "start_production",
        "finish_production",
        "pack_and_label",
        "hand_over",
        "scan",
        "out_for_delivery",
        "deliver",
    ],
    "embroidery": [
        "accept",
        "start_digitizing",
        "start_upload",
        "pass_file",
        "start_production",
        "finish_production",
        "pack_and_label",
        "hand_over",
        "scan",
        "out_for_delivery",
        "deliver",
    ],
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Tests marked slow first: with `-n`, a long test handed out near the end leaves one
    worker running it alone. pytest-django then sorts by database use as before (tests in
    a transaction, then transactional ones, then the rest), keeping this order inside."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _user(username, **extra):
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, **extra
    )
    return user


@pytest.fixture
def merchant(db):
    return Merchant.objects.create(name="Acme Outfitters", slug="acme")


@pytest.fixture
def other_merchant(db):
    return Merchant.objects.create(name="Globex Goods", slug="globex")


@pytest.fixture
def manager(merchant):
    user = _user("alice")
    Membership.objects.create(user=user, merchant=merchant, role="manager")
    return user


@pytest.fixture
def viewer(merchant):
    user = _user("bob")
    Membership.objects.create(user=user, merchant=merchant, role="viewer")
    return user


@pytest.fixture
def outsider(other_merchant):
    user = _user("charlie")
    Membership.objects.create(user=user, merchant=other_merchant, role="manager")
    return user


@pytest.fixture
def staff(db):
    return _user("olga", is_staff=True, is_superuser=True)


@pytest.fixture
def centers(db):
    newark = FulfillmentCenter.objects.create(
        code="NJ1",
        name="Newark",
        country="US",
        time_zone="America/New_York",
        daily_cutoff=datetime.time(14, 0),
        handles_stock=True,
        handles_print=True,
    )
    leipzig = FulfillmentCenter.objects.create(
        code="LEJ",
        name="Leipzig",
        country="DE",
        time_zone="Europe/Berlin",
        daily_cutoff=datetime.time(14, 0),
        handles_stock=True,
        handles_print=True,
    )
    return newark, leipzig


@pytest.fixture
def products(merchant, centers):
    made = {
        "stock": Product.objects.create(merchant=merchant, sku="TEE-1", name="Tee", kind="stock"),
        "print": Product.objects.create(
            merchant=merchant, sku="POSTER-1", name="Poster", kind="print"
        ),
        "embroidery": Product.objects.create(
            merchant=merchant, sku="HOOD-1", name="Hoodie", kind="embroidery"
        ),
    }
    for center in centers:
        InventoryLevel.objects.create(center=center, product=made["stock"], on_hand=100)
    ShipOptionMapping.objects.create(
        merchant=merchant, store_option="Standard", carrier="USPS", service="Ground Advantage"
    )
    return made


@pytest.fixture
def make_order(merchant, products):
    """make_order(kind="stock", number=None, draft=False, quantity=1, **fields)"""
    counter = {"n": 0}

    def make(kind="stock", number=None, draft=False, quantity=1, target_merchant=None, **fields):
        counter["n"] += 1
        values = {
            **US_ADDRESS,
            "customer_name": "Ava Smith",
            "ship_option": "Standard",
            "customer_email": "ava@example.com",
            "total": Decimal("40.00"),
        }
        values.update(fields)
        return order_create(
            merchant=target_merchant or merchant,
            by="test",
            number=number or f"T-{counter['n']:05d}",
            lines=[{"sku": products[kind].sku, "quantity": quantity}],
            draft=draft,
            **values,
        )

    return make


@pytest.fixture
def drive(staff, centers):
    """drive(order, "picked") walks an order from import_review along its flow's path."""

    def run(order, target, center=None):
        kind = "embroidery" if order.has_embroidery else order.flow
        for name in PATHS[kind]:
            if order.status == target:
                break
            params = {}
            by = staff
            if name == "accept":
                params, by = {"center": center or centers[0]}, "review"
            elif name == "hand_over":
                params = {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}
            elif name in ("scan", "out_for_delivery", "deliver"):
                by = "carrier"
            order = order_transition(order=order, name=name, by=by, params=params)
        assert order.status == target, f"could not drive {order.number} to {target}"
        return order

    return run
