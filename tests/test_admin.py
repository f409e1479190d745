"""The staff admin: orders listed with their statuses, transition buttons only for what staff
may do, and transitions applied through the service with history."""

import pytest
from django.urls import reverse

from orders.models import Order, StatusChange
from tests.conftest import PASSWORD


@pytest.fixture
def staff_client(client, staff):
    client.login(username=staff.username, password=PASSWORD)
    return client


def test_changelist_shows_orders_with_their_sub_status(staff_client, make_order):
    order = make_order(number="A-100")
    response = staff_client.get(reverse("admin:orders_order_changelist"))
    assert response.status_code == 200
    assert "A-100" in response.text
    assert order.state.label in response.text


def test_changelist_filters_and_search(staff_client, make_order, drive):
    drive(make_order(number="A-1"), "picked")
    make_order(number="B-2")
    url = reverse("admin:orders_order_changelist")
    response = staff_client.get(url, {"status__exact": "picked"})
    assert "A-1" in response.text and "B-2" not in response.text
    response = staff_client.get(url, {"q": "B-2"})
    assert "B-2" in response.text and "A-1" not in response.text


def test_change_page_offers_exactly_the_staff_transitions(staff_client, make_order, drive):
    order = drive(make_order(), "processing")
    response = staff_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    buttons = {
        value
        for value in ("start_pick", "hold", "cancel", "clean_sweep", "accept", "mark_paid")
        if f'value="{value}"' in response.text
    }
    assert buttons == {"start_pick", "hold", "mark_paid"}


def test_status_fields_are_read_only_in_the_admin(staff_client, make_order):
    order = make_order()
    response = staff_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert 'name="status"' not in response.text
    assert 'name="payment_status"' not in response.text


def test_hold_asks_for_a_reason_and_records_it(staff_client, staff, make_order, drive):
    order = drive(make_order(), "processing")
    url = reverse("admin:orders_order_transition", args=[order.pk, "hold"])
    assert 'name="reason"' in staff_client.get(url).text

    response = staff_client.post(url, {"reason": "special_requirements", "note": "gift wrap?"})

    assert response.status_code == 302
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.hold_reason, fresh.hold_note) == (
        "action_required",
        "special_requirements",
        "gift wrap?",
    )
    row = StatusChange.objects.filter(order=order).last()
    assert (row.transition, row.actor, row.reason) == ("hold", staff, "gift wrap?")


def test_hand_over_needs_carrier_and_tracking_number(staff_client, make_order, drive):
    order = drive(make_order(), "labeled")
    url = reverse("admin:orders_order_transition", args=[order.pk, "hand_over"])
    response = staff_client.post(url, {"carrier": "UPS", "tracking_number": ""})
    assert response.status_code == 200  # the form again, with its error
    assert Order.objects.get(pk=order.pk).status == "labeled"
    staff_client.post(url, {"carrier": "UPS", "service": "Ground", "tracking_number": "1Z1"})
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.carrier, fresh.tracking_number) == ("shipped", "UPS", "1Z1")


def test_a_merchant_only_transition_is_refused_for_staff(staff_client, make_order):
    order = make_order()
    url = reverse("admin:orders_order_transition", args=[order.pk, "hold"])
    staff_client.post(url, {"reason": "pending_approval"})
    decline = reverse("admin:orders_order_transition", args=[order.pk, "retry"])
    response = staff_client.get(decline, follow=True)
    assert "not allowed" in response.text
    assert Order.objects.get(pk=order.pk).status == "action_required"


def test_history_cannot_be_edited_or_deleted_in_the_admin(staff_client, make_order):
    order = make_order()
    row = StatusChange.objects.get(order=order)
    change = reverse("admin:orders_statuschange_change", args=[row.pk])
    staff_client.post(change, {"reason": "tampered"})
    assert StatusChange.objects.get(pk=row.pk).reason == ""
    delete = reverse("admin:orders_statuschange_delete", args=[row.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert StatusChange.objects.filter(pk=row.pk).exists()


def test_orders_cannot_be_deleted_in_the_admin(staff_client, make_order):
    order = make_order()
    delete = reverse("admin:orders_order_delete", args=[order.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()


def test_merchant_users_cannot_open_the_admin(client, manager):
    client.login(username=manager.username, password=PASSWORD)
    response = client.get(reverse("admin:orders_order_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_changelist_counts_no_further_than_its_cap(staff_client, make_order, monkeypatch):
    """Past ADMIN_COUNT_CAP the changelist says "N+ orders" (also in "Select all") and never
    counts the whole table; under it, the exact count. Pages still go as far as the cap."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.admin import order as order_admin

    for i in range(5):
        make_order(number=f"CAP-{i}")
    monkeypatch.setattr(order_admin, "ADMIN_COUNT_CAP", 3)
    monkeypatch.setattr(order_admin.OrderAdmin, "list_per_page", 2)
    url = reverse("admin:orders_order_changelist")
    with CaptureQueriesContext(connection) as ctx:
        response = staff_client.get(url)
    assert response.status_code == 200
    assert "3+ orders" in response.text
    assert "Select all 3+ orders" in response.text
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 4" in sql for sql in counts), counts
    assert staff_client.get(url, {"p": "2"}).status_code == 200  # the cap's last page
    # Narrowed below the cap: the exact count.
    narrowed = staff_client.get(url, {"q": "CAP-1"})
    assert "1 order" in narrowed.text and "+ order" not in narrowed.text


def test_changelist_lists_newest_first_by_arrival_or_within_a_merchant_by_creation(
    staff_client, make_order, merchant
):
    """Unfiltered, the primary key's index orders the list (newest arrival first); within
    one merchant, the orders' creation time, which that merchant's indexes answer."""
    import datetime

    from django.utils import timezone

    first = make_order(number="ARR-1")
    second = make_order(number="ARR-2")
    # The later arrival was created earlier (an import carrying the store's dates).
    Order.objects.filter(pk=second.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3)
    )
    url = reverse("admin:orders_order_changelist")
    text = staff_client.get(url).text
    assert text.index("ARR-2") < text.index("ARR-1")
    text = staff_client.get(url, {"merchant__id__exact": merchant.pk}).text
    assert text.index("ARR-1") < text.index("ARR-2")
    assert first.pk < second.pk
