"""Payment status: each transition from the SPEC, driven from the admin, and its coupling to
the order (cancel cancels or refunds, refused holds, paid releases)."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from orders.models import Order, StatusChange
from orders.services import ActionRefused, order_transition
from orders.staff import shown_token


def _fresh(order):
    return Order.objects.get(pk=order.pk)


def _pay(order, by="payments"):
    return order_transition(order=order, name="mark_paid", by=by)


def _payment_history(order):
    return list(
        StatusChange.objects.filter(order=order, field="payment_status").values_list(
            "transition", "source", "target"
        )
    )


@pytest.fixture
def ops(client, staff):
    client.force_login(staff)
    return client


# --- each transition -----------------------------------------------------------------------


def test_mark_paid_moves_pending_to_paid_with_history(make_order, staff):
    order = _pay(make_order(), by=staff)
    assert _fresh(order).payment_status == "paid"
    assert _payment_history(order) == [("mark_paid", "pending", "paid")]
    assert StatusChange.objects.get(order=order, field="payment_status").actor == staff


def test_mark_paid_is_refused_when_already_paid(make_order, staff):
    order = _pay(make_order())
    with pytest.raises(ActionRefused, match="payment is Paid"):
        order_transition(order=order, name="mark_paid", by=staff)
    assert len(_payment_history(order)) == 1


def test_refuse_payment_is_refused_once_paid(make_order, staff):
    order = _pay(make_order())
    with pytest.raises(ActionRefused):
        order_transition(order=order, name="refuse_payment", by=staff)
    assert _fresh(order).payment_status == "paid"


def test_merchant_manager_cannot_mark_paid(make_order, manager):
    order = make_order()
    with pytest.raises(ActionRefused, match="operations staff"):
        order_transition(order=order, name="mark_paid", by=manager)
    assert _fresh(order).payment_status == "pending"


def test_staff_cannot_cancel_a_payment_by_hand(make_order, staff):
    order = make_order()
    with pytest.raises(ActionRefused):
        order_transition(order=order, name="cancel_payment", by=staff)
    assert _fresh(order).payment_status == "pending"


def test_partial_refunds_add_up_to_refunded(make_order, staff):
    order = _pay(make_order(total=Decimal("40.00")))
    order = order_transition(order=order, name="refund", by=staff, params={"amount": "10.00"})
    assert (order.payment_status, order.refunded_amount) == ("partially_refunded", Decimal("10"))
    order = order_transition(order=order, name="refund", by=staff, params={"amount": "15.50"})
    assert (order.payment_status, order.refunded_amount) == (
        "partially_refunded",
        Decimal("25.50"),
    )
    order = order_transition(order=order, name="refund", by=staff, params={"amount": "14.50"})
    fresh = _fresh(order)
    assert (fresh.payment_status, fresh.refunded_amount) == ("refunded", Decimal("40.00"))
    assert [t for t, _s, _t in _payment_history(order)] == [
        "mark_paid",
        "refund",
        "refund",
        "refund",
    ]


@pytest.mark.parametrize("amount", ["40.01", "0", "-5", "abc", "NaN", "1.005"])
def test_refund_beyond_the_total_or_not_a_positive_amount_is_refused(make_order, staff, amount):
    order = _pay(make_order(total=Decimal("40.00")))
    with pytest.raises(ActionRefused):
        order_transition(order=order, name="refund", by=staff, params={"amount": amount})
    fresh = _fresh(order)
    assert (fresh.payment_status, fresh.refunded_amount) == ("paid", Decimal("0"))


def test_refund_after_partial_refunds_never_exceeds_the_total(make_order, staff):
    order = _pay(make_order(total=Decimal("40.00")))
    order = order_transition(order=order, name="refund", by=staff, params={"amount": "30"})
    with pytest.raises(ActionRefused, match="At most 10.00"):
        order_transition(order=order, name="refund", by=staff, params={"amount": "10.01"})
    assert _fresh(order).refunded_amount == Decimal("30.00")


def test_pending_payment_cannot_be_refunded(make_order, staff):
    with pytest.raises(ActionRefused, match="payment is Pending"):
        order_transition(order=make_order(), name="refund", by=staff, params={"amount": "1"})


# --- coupling to the order -----------------------------------------------------------------


@pytest.mark.parametrize("state", ["processing", "pick_in_process", "picked"])
def test_refused_payment_holds_a_live_order(make_order, drive, staff, state):
    order = drive(make_order(), state)
    order_transition(order=order, name="refuse_payment", by=staff)
    fresh = _fresh(order)
    assert (fresh.status, fresh.hold_reason, fresh.payment_status) == (
        "action_required",
        "payment_refused",
        "refused",
    )
    transitions = StatusChange.objects.filter(order=order).values_list("transition", flat=True)
    assert {"refuse_payment", "hold"} <= set(transitions)


def test_refused_payment_in_review_holds_too(make_order):
    order = order_transition(order=make_order(), name="refuse_payment", by="payments")
    assert (order.status, order.hold_reason) == ("action_required", "payment_refused")


def test_refused_payment_after_labelling_leaves_the_order_moving(make_order, drive, staff):
    order = drive(make_order(), "labeled")
    order_transition(order=order, name="refuse_payment", by=staff)
    fresh = _fresh(order)
    assert (fresh.status, fresh.payment_status) == ("labeled", "refused")


def test_later_successful_payment_releases_the_hold_to_review(
    make_order, drive, staff, centers, django_capture_on_commit_callbacks
):
    from orders.signals import review_requested

    order = drive(make_order(), "processing")
    order = order_transition(order=order, name="refuse_payment", by=staff)
    asked = []

    def listener(sender, order_id, **kwargs):
        asked.append(order_id)

    with django_capture_on_commit_callbacks() as callbacks:
        order = order_transition(order=order, name="mark_paid", by=staff)
    fresh = _fresh(order)
    assert (fresh.status, fresh.hold_reason, fresh.payment_status) == (
        "import_review",
        "",
        "paid",
    )
    review_requested.connect(listener)
    try:
        for callback in callbacks:  # after commit: review is asked to run again
            callback()
    finally:
        review_requested.disconnect(listener)
    assert asked == [order.pk]
    assert StatusChange.objects.filter(order=order, transition="retry").count() == 1
    assert not fresh.stock_reserved  # going back to review released the reservation


def test_paid_does_not_release_a_hold_for_another_reason(make_order, staff):
    order = order_transition(
        order=make_order(), name="hold", by="review", params={"reason": "pending_approval"}
    )
    order_transition(order=order, name="mark_paid", by=staff)
    fresh = _fresh(order)
    assert (fresh.status, fresh.hold_reason) == ("action_required", "pending_approval")


@pytest.mark.parametrize("before", ["pending", "refused"])
def test_cancel_cancels_a_pending_or_refused_payment(make_order, manager, before):
    order = make_order()
    if before == "refused":
        order = order_transition(order=order, name="refuse_payment", by="payments")
    order_transition(order=order, name="cancel", by=manager)
    fresh = _fresh(order)
    assert (fresh.status, fresh.payment_status) == ("cancelled", "canceled")
    assert ("cancel_payment", before, "canceled") in _payment_history(order)


def test_cancel_fully_refunds_a_paid_order(make_order, drive, manager):
    order = _pay(drive(make_order(total=Decimal("40.00")), "processing"))
    order_transition(order=order, name="cancel", by=manager)
    fresh = _fresh(order)
    assert (fresh.status, fresh.payment_status, fresh.refunded_amount) == (
        "cancelled",
        "refunded",
        Decimal("40.00"),
    )


def test_cancel_refunds_what_is_left_after_a_partial_refund(make_order, manager, staff):
    order = _pay(make_order(total=Decimal("40.00")))
    order = order_transition(order=order, name="refund", by=staff, params={"amount": "15"})
    order_transition(order=order, name="cancel", by=manager)
    fresh = _fresh(order)
    assert (fresh.payment_status, fresh.refunded_amount) == ("refunded", Decimal("40.00"))


def test_cancel_of_a_paid_free_order_refunds_nothing_and_no_longer_reads_paid(make_order, manager):
    # SPEC: cancelling fully refunds a paid order; for a free one that is 0 (issue 12).
    order = _pay(make_order(total=Decimal("0")))
    order_transition(order=order, name="cancel", by=manager)
    fresh = _fresh(order)
    assert (fresh.status, fresh.payment_status) == ("cancelled", "refunded")
    assert fresh.refunded_amount == Decimal("0")


def test_decline_cancels_the_payment(make_order, staff):
    order = order_transition(
        order=make_order(), name="hold", by="review", params={"reason": "pending_approval"}
    )
    order_transition(order=order, name="decline", by=staff)
    fresh = _fresh(order)
    assert (fresh.status, fresh.payment_status) == ("cancelled", "canceled")


# --- from the admin ------------------------------------------------------------------------


def test_admin_order_page_offers_payment_buttons(ops, make_order):
    order = make_order()
    page = ops.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    assert b"mark_paid" in page.content and b"refuse_payment" in page.content


def test_admin_mark_paid_button(ops, staff, make_order):
    order = make_order()
    response = ops.post(
        f"/admin/orders/order/{order.pk}/change/",
        {**_change_form(order), "_fsm_transition_to": "mark_paid"},
    )
    assert response.status_code == 302
    assert _fresh(order).payment_status == "paid"
    assert StatusChange.objects.get(order=order, transition="mark_paid").actor == staff


def test_admin_refund_form_refunds_the_amount(ops, make_order):
    order = _pay(make_order(total=Decimal("40.00")))
    url = f"/admin/orders/order/{order.pk}/transition/refund/"
    assert ops.get(url).status_code == 200
    response = ops.post(url, {"amount": "12.50"})
    assert response.status_code == 302
    fresh = _fresh(order)
    assert (fresh.payment_status, fresh.refunded_amount) == (
        "partially_refunded",
        Decimal("12.50"),
    )


def test_admin_refund_over_the_total_is_refused_with_a_message(ops, make_order):
    order = _pay(make_order(total=Decimal("40.00")))
    response = ops.post(f"/admin/orders/order/{order.pk}/transition/refund/", {"amount": "50"})
    assert response.status_code == 200
    assert any("At most 40.00" in str(m) for m in get_messages(response.wsgi_request))
    assert _fresh(order).payment_status == "paid"


def _change_form(order):
    """The admin change form as the browser would post it, unchanged."""
    fields = [
        "merchant", "number", "customer_name", "customer_email", "customer_phone",
        "ship_name", "address1", "address2", "city", "region", "postal_code", "country",
        "ship_option", "carrier", "service", "tracking_number", "ship_by", "total",
        "currency", "needs_approval",
    ]  # fmt: skip
    data = {}
    for name in fields:
        value = getattr(order, f"{name}_id" if name == "merchant" else name)
        if name == "needs_approval":
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else str(value)
    for prefix in ["lines", "history", "tracking_events", "address_changes"]:
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    # What the page showed (orders.staff): here, the order as passed in.
    data["shown"] = shown_token(order)
    return data
