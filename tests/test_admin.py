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
