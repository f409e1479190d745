"""Reads on a replica (dashboard/replica.py): the list, its search and counts and the export
read from the replica; the order page, POSTs, transactions, the admin and the API, and a
user's reads just after they wrote, from the primary. Without a replica nothing changes.

The test settings' `replica` is a test mirror of `default` (the same database under another
alias), so these tests count which alias each statement went through. REPLICA_READS is off
for the rest of the suite and turned on here. Reads inside a transaction never go to the
replica, so the view tests are transactional (a TestCase wraps every test in one)."""

import runpy
from pathlib import Path

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard import replica
from dashboard.replica import ReplicaRouter, replica_reads
from orders.models import Order, SavedView
from orders.tokens import token_create

from .dashboard_helpers import login

SETTINGS_FILE = Path(__file__).resolve().parents[1] / "dashboard" / "settings.py"
ORDER_TABLES = ('"orders_order"', '"orders_statuscount"')
both = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def replica_on(settings):
    settings.REPLICA_READS = True
    settings.REPLICA_READ_YOUR_WRITES_SECONDS = 10


@pytest.fixture
def clock(monkeypatch):
    """A fixed clock for the read-your-writes window: clock.now = seconds."""

    class Clock:
        now = 1_000_000.0

    monkeypatch.setattr(replica, "_now", lambda: Clock.now)
    return Clock


class Reads:
    """The statements each alias ran inside the block."""

    def __enter__(self):
        self.default = CaptureQueriesContext(connections["default"])
        self.replica = CaptureQueriesContext(connections["replica"])
        self.default.__enter__()
        self.replica.__enter__()
        return self

    def __exit__(self, *exc):
        self.replica.__exit__(*exc)
        self.default.__exit__(*exc)

    def orders_read_from(self, alias):
        captured = self.default if alias == "default" else self.replica
        return [q["sql"] for q in captured if any(t in q["sql"] for t in ORDER_TABLES)]


def assert_list_on_replica(reads):
    assert reads.orders_read_from("replica"), "the list read nothing from the replica"
    assert reads.orders_read_from("default") == []


# --- the router's answers -------------------------------------------------------------------


def test_router_answers_replica_only_inside_the_scope(replica_on):
    router = ReplicaRouter()
    assert router.db_for_read(Order) == "default"
    with replica_reads():
        assert router.db_for_read(Order) == "replica"
        assert router.db_for_write(Order) == "default"
        # after a write, the rest of the scope reads what it wrote
        assert router.db_for_read(Order) == "default"
    assert router.db_for_read(Order) == "default"
    assert router.allow_migrate("replica", "orders") is False
    assert router.allow_migrate("default", "orders") is None


@both
def test_reads_inside_a_transaction_stay_on_the_primary(replica_on):
    router = ReplicaRouter()
    with replica_reads():
        assert router.db_for_read(Order) == "replica"
        with transaction.atomic():
            assert router.db_for_read(Order) == "default"
            assert Order.objects.all().db == "default"
        assert router.db_for_read(Order) == "replica"


def test_without_a_replica_the_router_answers_nothing():
    router = ReplicaRouter()  # the test settings leave REPLICA_READS off
    with replica_reads():
        assert router.db_for_read(Order) is None
        assert router.db_for_write(Order) is None


def test_settings_add_the_replica_only_with_its_url(monkeypatch):
    monkeypatch.setenv("DEBUG", "1")
    monkeypatch.delenv("DATABASE_REPLICA_URL", raising=False)
    plain = runpy.run_path(str(SETTINGS_FILE))
    assert list(plain["DATABASES"]) == ["default"]
    assert plain["REPLICA_READS"] is False

    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://reader@replica.internal:5432/shop")
    with_replica = runpy.run_path(str(SETTINGS_FILE))
    assert with_replica["DATABASES"]["replica"]["HOST"] == "replica.internal"
    assert with_replica["REPLICA_READS"] is True


# --- what goes where ------------------------------------------------------------------------


@both
def test_the_list_its_search_and_its_view_counts_read_from_the_replica(
    client, replica_on, manager, merchant, make_order
):
    make_order(customer_name="Ava Smith")
    make_order(customer_name="Ben Jones")
    # A saved view that is a search: its count is counted, not kept.
    SavedView.objects.create(merchant=merchant, owner=manager, name="Smiths", query="q=Smith")
    login(client, manager)
    for params in ({}, {"q": "Smith"}, {"q": "Sm"}, {"view": "closing_soon"}):
        with Reads() as reads:
            response = client.get("/orders/", params)
        assert response.status_code == 200
        assert_list_on_replica(reads)


@both
def test_the_export_reads_from_the_replica(client, replica_on, manager, make_order):
    make_order(number="EXP-1")
    login(client, manager)
    with Reads() as reads:
        response = client.get("/orders/export.csv", {"q": "EXP"})
        body = b"".join(response.streaming_content).decode()
    assert "EXP-1" in body
    assert_list_on_replica(reads)


@both
def test_the_order_page_a_post_the_admin_and_the_api_read_from_the_primary(
    client, replica_on, manager, staff, merchant, make_order
):
    order = make_order(number="P-1")
    login(client, manager)
    with Reads() as reads:
        assert client.get(f"/orders/{order.number}/").status_code == 200
        response = client.post(f"/orders/{order.number}/notes/", {"text": "Call the buyer"})
        assert response.status_code == 302
    assert reads.orders_read_from("default")
    assert list(reads.replica) == []

    _row, raw = token_create(merchant=merchant, name="Shop")
    with Reads() as reads:
        response = client.get(
            reverse("api_order", args=[order.number]), headers={"Authorization": f"Bearer {raw}"}
        )
        assert response.status_code == 200
        login(client, staff)
        assert client.get("/admin/orders/order/").status_code == 200
        assert client.get(f"/admin/orders/order/{order.pk}/change/").status_code == 200
    assert reads.orders_read_from("default")
    assert list(reads.replica) == []


@both
def test_after_a_write_the_writers_list_reads_from_the_primary_until_the_window_passes(
    client, replica_on, clock, manager, viewer, make_order
):
    order = make_order(number="W-1")
    make_order(number="W-2")
    login(client, manager)
    with Reads() as reads:
        client.get("/orders/")
    assert_list_on_replica(reads)

    # A bulk cancel of one order (confirmed), then the list it redirects to.
    response = client.post(
        "/orders/actions/bulk/",
        {"action": "cancel", "scope": "selected", "selected": [order.pk], "confirmed": "1"},
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "cancelled"

    clock.now += 9
    with Reads() as reads:
        client.get("/orders/")
        b"".join(client.get("/orders/export.csv").streaming_content)
    assert reads.orders_read_from("default")
    assert list(reads.replica) == []

    clock.now += 2  # the window has passed
    with Reads() as reads:
        client.get("/orders/")
    assert_list_on_replica(reads)

    # Only the writer's browser: a colleague's list read from the replica all along.
    client.logout()
    clock.now -= 5
    login(client, viewer)
    with Reads() as reads:
        client.get("/orders/")
    assert_list_on_replica(reads)


@both
def test_adding_a_note_keeps_the_next_list_on_the_primary(
    client, replica_on, clock, manager, make_order
):
    order = make_order(number="N-1")
    login(client, manager)
    client.post(f"/orders/{order.number}/notes/", {"text": "Gift wrap"})
    with Reads() as reads:
        response = client.get("/orders/", {"q": "gift wrap"})
    assert "N-1" in response.text
    assert reads.orders_read_from("default")
    assert list(reads.replica) == []


@both
def test_a_forged_far_future_cookie_is_ignored(client, replica_on, clock, manager, make_order):
    make_order()
    login(client, manager)
    client.cookies[replica.COOKIE] = str(clock.now + 10**9)
    with Reads() as reads:
        client.get("/orders/")
    assert_list_on_replica(reads)
