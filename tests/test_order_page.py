import datetime

import pytest
from django.utils import timezone

from orders import statuses as st
from orders.models import AddressChange, Order, OrderLine, StatusChange, TrackingEvent
from orders.services import order_request_address_change, order_transition

from .conftest import US_ADDRESS
from .dashboard_helpers import fail, hold, login, put_in

STATES_TO_CHECK = [
    "draft",
    "import_review",
    "action_required",
    "processing",
    "pick_in_process",
    "picked",
    "labeled",
    "shipped",
    "delivered",
    "failed",
    "cancelled",
    "clean_swept",
]
LABELS = {"cancel": b"Cancel order", "clean_sweep": b"Clean sweep", "retry": b"Retry"}


def page(client, order):
    return client.get(f"/orders/{order.number}/")


@pytest.mark.parametrize("target", STATES_TO_CHECK)
def test_buttons_appear_exactly_when_the_transition_is_available(
    client, manager, viewer, staff, make_order, drive, target
):
    if target == "draft":
        order = make_order(draft=True)
    else:
        order = put_in(make_order(), target, staff=staff, manager=manager, drive=drive)
    order = Order.objects.get(pk=order.pk)
    login(client, manager)
    body = page(client, order).content
    available = {t.name for t in order.get_available_user_status_transitions(manager)}
    for name, label in LABELS.items():
        button = b'data-action="' + name.encode() + b'"'
        assert (button in body) == (name in available), (target, name)
        if name in available:
            assert label in body
    client.logout()
    login(client, viewer)
    body = page(client, order).content
    assert b"data-action=" not in body
    assert b"only managers can change it" in body


def test_printed_order_says_why_it_cannot_be_cancelled(client, manager, make_order, drive):
    order = drive(make_order(kind="print"), "printed")
    login(client, manager)
    body = page(client, order).content.decode()
    assert 'data-action="cancel"' not in body
    assert "Cancel order: already printed: can no longer be cancelled." in body
    assert "Request address change" in body
    assert "Edit address" not in body


def test_order_page_shows_everything_about_the_order(
    client, manager, staff, make_order, drive, centers
):
    order = drive(make_order(customer_name="Ava Smith", quantity=2), "in_transit")
    TrackingEvent.objects.create(
        order=order,
        code="IT",
        description="Departed facility",
        location="Newark, NJ",
        occurred_at=timezone.now() - datetime.timedelta(hours=1),
    )
    order_request_address_change(
        order=order, by=manager, address={**US_ADDRESS, "city": "Brooklyn", "postal_code": "11201"}
    )
    login(client, manager)
    body = page(client, order).content.decode()
    state = st.state("in_transit")
    for text in [
        "Order " + order.number,
        "Shipped: In Transit",
        state.explanation,
        state.what_you_can_do,
        "TEE-1",
        "Ava Smith",
        "1 Market Street",
        "Pending",  # payment
        "Newark (NJ1)",
        "Ship by",
        "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "Departed facility",
        "Newark, NJ",
        "Address change requested",
        "requested, not guaranteed",
        "Labeled → <strong>Awaiting carrier scan</strong>",
        "by olga",
        "by carrier",
    ]:
        assert text in body, text
    assert "Stock (warehouse)" in body
    assert '<td class="num">2</td>' in body
    # Money as the list writes it: the sign of the currency, two decimals.
    assert "<dt>Total</dt><dd>$40.00</dd>" in body


def test_timeline_shows_who_when_from_to_and_reason(client, manager, staff, make_order):
    order = hold(make_order(), staff, reason="invalid_address")
    order_transition(order=order, name="cancel", by=manager, note="customer changed their mind")
    login(client, manager)
    body = page(client, order).content.decode()
    assert "Action Required → <strong>Cancelled</strong>" in body
    assert "by alice" in body
    assert "“customer changed their mind”" in body
    assert "Import Review → <strong>Action Required</strong>" in body
    assert "<strong>Payment</strong>: Pending → <strong>Canceled</strong>" in body


def test_held_order_shows_its_hold_reason_and_what_to_do(client, manager, staff, make_order):
    order = hold(make_order(), staff, reason="payment_refused")
    login(client, manager)
    body = page(client, order).content.decode()
    reason = st.hold_reason("payment_refused")
    assert "Action Required: Payment refused" in body
    assert reason.explanation in body
    assert reason.what_you_can_do in body


def test_failed_order_shows_the_failure_reason(client, manager, staff, make_order):
    order = fail(make_order(), staff, reason="Artwork rejected: too blurry")
    login(client, manager)
    assert "Why it failed: Artwork rejected: too blurry" in page(client, order).content.decode()


def test_cancel_through_the_confirmation(client, manager, make_order):
    order = make_order()
    login(client, manager)
    confirm = client.get(f"/orders/{order.number}/cancel/")
    assert confirm.status_code == 200
    assert b"will not be fulfilled" in confirm.content
    assert b'name="expected_status" value="import_review"' in confirm.content
    assert Order.objects.get(pk=order.pk).status == "import_review"  # GET changes nothing
    response = client.post(
        f"/orders/{order.number}/cancel/",
        {"expected_status": "import_review", "note": "duplicate order"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/orders/{order.number}/"
    assert f"Order {order.number} cancelled.".encode() in response.content
    assert b'data-action="cancel"' not in response.content
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    change = StatusChange.objects.get(order=order, transition="cancel")
    assert (change.actor, change.source, change.target, change.reason) == (
        manager,
        "import_review",
        "cancelled",
        "duplicate order",
    )


def test_htmx_confirmation_is_a_fragment(client, manager, make_order):
    order = make_order()
    login(client, manager)
    response = client.get(f"/orders/{order.number}/clean-sweep/", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert "can be imported again" in body
    assert "data-pause-poll" in body


def test_clean_sweep_leaves_the_list(client, manager, make_order):
    order = make_order(number="SWEEP-1")
    login(client, manager)
    response = client.post(
        f"/orders/{order.number}/clean-sweep/", {"expected_status": "import_review"}
    )
    assert response["Location"] == "/orders/"
    assert Order.objects.get(pk=order.pk).status == "clean_swept"
    assert StatusChange.objects.filter(order=order, transition="clean_sweep", actor=manager)
    listing = client.get("/orders/")
    assert b"SWEEP-1 clean swept: it left the dashboard" in listing.content  # the message
    assert b'href="/orders/SWEEP-1/"' not in listing.content  # no row


def test_retry_sends_a_held_order_back_to_review(client, manager, staff, make_order):
    order = hold(make_order(), staff, reason="insufficient_inventory")
    login(client, manager)
    client.post(f"/orders/{order.number}/retry/", {"expected_status": "action_required"})
    assert Order.objects.get(pk=order.pk).status == "import_review"
    assert StatusChange.objects.filter(order=order, transition="retry", actor=manager).exists()


def test_a_raced_action_says_the_order_changed_meanwhile(client, manager, make_order, drive):
    order = make_order()
    login(client, manager)
    drive(order, "processing")  # someone else moved it after the user looked
    response = client.post(
        f"/orders/{order.number}/cancel/", {"expected_status": "import_review"}, follow=True
    )
    assert b"changed meanwhile" in response.content
    assert Order.objects.get(pk=order.pk).status == "processing"
    assert not StatusChange.objects.filter(order=order, transition="cancel").exists()


def test_a_refused_action_says_why_and_changes_nothing(client, manager, make_order, drive):
    order = drive(make_order(kind="print"), "printed")
    login(client, manager)
    confirm = client.get(f"/orders/{order.number}/cancel/")
    assert b"already printed: can no longer be cancelled" in confirm.content
    response = client.post(
        f"/orders/{order.number}/cancel/", {"expected_status": "printed"}, follow=True
    )
    assert response.status_code == 200
    assert b"already printed: can no longer be cancelled" in response.content
    assert Order.objects.get(pk=order.pk).status == "printed"


def test_edit_address_while_it_can_still_be_cancelled(client, manager, staff, make_order):
    order = hold(make_order(), staff, reason="invalid_address")
    login(client, manager)
    form = client.get(f"/orders/{order.number}/address/")
    assert b"Edit the shipping address" in form.content
    new = {**US_ADDRESS, "address2": "", "city": "Boston", "region": "MA", "postal_code": "02110"}
    response = client.post(f"/orders/{order.number}/address/", new)
    assert response.status_code == 302
    saved = Order.objects.get(pk=order.pk)
    assert saved.city == "Boston"
    assert saved.status == "import_review"  # held for the address: back to review
    change = AddressChange.objects.get(order=order)
    assert change.applied and change.requested_by == manager
    assert change.previous_address["city"] == "New York"


def test_bad_address_shows_errors_and_changes_nothing(client, manager, make_order):
    order = make_order()
    login(client, manager)
    response = client.post(
        f"/orders/{order.number}/address/",
        {**US_ADDRESS, "address2": "", "postal_code": "ABC", "country": "US"},
    )
    assert response.status_code == 200
    assert b"is not a 5-digit ZIP code" in response.content
    assert Order.objects.get(pk=order.pk).postal_code == "10001"
    assert not AddressChange.objects.filter(order=order).exists()


def test_after_labelling_only_a_change_request_is_recorded(client, manager, make_order, drive):
    order = drive(make_order(), "labeled")
    login(client, manager)
    form = client.get(f"/orders/{order.number}/address/")
    assert b"not guaranteed" in form.content
    new = {**US_ADDRESS, "address2": "", "city": "Boston", "region": "MA", "postal_code": "02110"}
    response = client.post(
        f"/orders/{order.number}/address/", {**new, "note": "moved"}, follow=True
    )
    assert b"requested, not guaranteed" in response.content
    assert Order.objects.get(pk=order.pk).city == "New York"
    change = AddressChange.objects.get(order=order)
    assert not change.applied and change.note == "moved"


def test_delivered_orders_have_no_address_action(client, manager, make_order, drive):
    order = drive(make_order(), "delivered")
    login(client, manager)
    assert b"address" not in page(client, order).content.split(b'class="actions"')[0][-200:]
    response = client.get(f"/orders/{order.number}/address/", follow=True)
    assert b"nothing to change" in response.content


def test_htmx_refresh_gets_just_the_order(client, manager, make_order):
    order = make_order()
    login(client, manager)
    response = client.get(f"/orders/{order.number}/", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="order-detail"' in body
    assert "every 30s" in body


@pytest.mark.parametrize("size", [1, 12])
def test_the_order_page_runs_a_constant_number_of_queries(
    client, manager, make_order, drive, django_assert_max_num_queries, size
):
    order = drive(make_order(), "in_transit")
    for i in range(size):
        OrderLine.objects.create(order=order, sku=f"EXTRA-{i}", quantity=1)
        TrackingEvent.objects.create(
            order=order, code="IT", description=f"Scan {i}", occurred_at=timezone.now()
        )
        order_request_address_change(order=order, by=manager, address=US_ADDRESS)
    login(client, manager)
    client.get("/orders/")
    # session, user, merchants, roles, order, lines, history, events, address changes (+users)
    with django_assert_max_num_queries(10):
        response = page(client, order)
    assert response.status_code == 200
    assert response.content.count(b"Scan ") == size


def test_confirmation_for_a_status_the_order_has_left_says_it_changed(
    client, manager, make_order, drive
):
    order = make_order()
    login(client, manager)
    link = f"/orders/{order.number}/cancel/?seen=import_review"
    assert link.encode() in page(client, order).content
    drive(order, "processing")
    response = client.get(link)
    assert b"changed meanwhile: it is now Processing" in response.content
    assert b'name="expected_status"' not in response.content
    assert Order.objects.get(pk=order.pk).status == "processing"


def test_history_restore_gets_the_whole_page(client, manager, make_order):
    order = make_order()
    login(client, manager)
    response = client.get(
        f"/orders/{order.number}/",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert b"<html" in response.content
    assert "HX-Request" in response["Vary"]


def test_order_page_shows_times_in_the_merchants_time_zone(client, manager, merchant, make_order):
    """The header says "Times in <zone>": the order page's times are in that zone too."""
    merchant.time_zone = "America/New_York"
    merchant.save(update_fields=["time_zone"])
    order = make_order()
    created = datetime.datetime(2026, 1, 15, 15, 30, tzinfo=datetime.UTC)
    Order.objects.filter(pk=order.pk).update(created_at=created)
    login(client, manager)
    text = page(client, order).content.decode()
    assert "Times in America/New_York" in text
    assert "Jan 15, 2026 10:30 EST" in text  # 15:30 UTC
    assert "15:30" not in text
