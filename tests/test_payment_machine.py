"""The payment state machine and its coupling to the order's status."""

from decimal import Decimal

import pytest
from django_fsm import TransitionNotAllowed, has_transition_perm

from orders.models import Order, StatusChange
from orders.services import ActionRefused, order_transition


def pay(order, name, by="payments", **params):
    return order_transition(order=order, name=name, by=by, params=params)


def payment_history(order):
    return list(
        StatusChange.objects.filter(order=order, field="payment_status")
        .order_by("id")
        .values_list("transition", "source", "target")
    )


def test_pending_payment_can_be_paid(make_order):
    order = pay(make_order(), "mark_paid")
    assert Order.objects.get(pk=order.pk).payment_status == "paid"
    assert payment_history(order) == [("mark_paid", "pending", "paid")]


def test_refused_payment_can_be_paid_later_and_releases_the_hold(make_order):
    order = pay(make_order(), "refuse_payment")
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.payment_status, fresh.status, fresh.hold_reason) == (
        "refused",
        "action_required",
        "payment_refused",
    )
    order = pay(fresh, "mark_paid")
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.payment_status, fresh.status, fresh.hold_reason) == ("paid", "import_review", "")
    assert payment_history(order) == [
        ("refuse_payment", "pending", "refused"),
        ("mark_paid", "refused", "paid"),
    ]
    status_rows = StatusChange.objects.filter(order=order, field="status").values_list(
        "transition", flat=True
    )
    assert list(status_rows) == ["import", "hold", "retry"]


def test_refused_payment_on_an_order_already_on_hold_does_not_hold_twice(make_order):
    order = order_transition(
        order=make_order(), name="hold", by="review", params={"reason": "invalid_address"}
    )
    order = pay(order, "refuse_payment")
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.hold_reason, fresh.payment_status) == (
        "action_required",
        "invalid_address",
        "refused",
    )


def test_paid_cannot_be_refused_or_paid_again(make_order):
    order = pay(make_order(), "mark_paid")
    for name in ("refuse_payment", "mark_paid", "cancel_payment"):
        with pytest.raises(TransitionNotAllowed):
            getattr(Order.objects.get(pk=order.pk), name)()


def test_partial_refunds_add_up_and_never_exceed_the_total(make_order):
    order = pay(make_order(total=Decimal("40.00")), "mark_paid")
    order = pay(order, "refund", amount=Decimal("15.00"))
    assert Order.objects.get(pk=order.pk).payment_status == "partially_refunded"
    order = pay(order, "refund", amount=Decimal("5.00"))
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.payment_status, fresh.refunded_amount) == ("partially_refunded", Decimal("20"))
    with pytest.raises(ActionRefused, match="At most 20.00"):
        pay(fresh, "refund", amount=Decimal("20.01"))
    assert Order.objects.get(pk=order.pk).refunded_amount == Decimal("20")
    order = pay(fresh, "refund", amount=Decimal("20.00"))
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.payment_status, fresh.refunded_amount) == ("refunded", Decimal("40"))
    assert [t for t, _s, _t in payment_history(order)] == [
        "mark_paid",
        "refund",
        "refund",
        "refund",
    ]
    with pytest.raises(TransitionNotAllowed):
        fresh.refund(Decimal("1"))


def test_refund_must_be_positive(make_order):
    order = pay(make_order(), "mark_paid")
    with pytest.raises(ActionRefused, match="positive"):
        pay(order, "refund", amount=Decimal("0"))


def test_refund_is_refused_before_payment(make_order):
    with pytest.raises(TransitionNotAllowed):
        make_order().refund(Decimal("1"))


@pytest.mark.parametrize(
    "payment,expected,refunded",
    [("pending", "canceled", "0"), ("refused", "canceled", "0"), ("paid", "refunded", "40.00")],
)
def test_cancelling_the_order_settles_the_payment(make_order, manager, payment, expected, refunded):
    order = make_order(total=Decimal("40.00"))
    if payment == "paid":
        order = pay(order, "mark_paid")
    if payment == "refused":
        order = pay(order, "refuse_payment")
    order = order_transition(order=order, name="cancel", by=manager)
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.payment_status) == ("cancelled", expected)
    assert fresh.refunded_amount == Decimal(refunded)
    assert payment_history(order)[-1][2] == expected


def test_declining_a_paid_order_refunds_it(make_order, staff):
    order = pay(make_order(), "mark_paid")
    order = order_transition(
        order=order, name="hold", by="review", params={"reason": "pending_approval"}
    )
    order = order_transition(order=order, name="decline", by=staff)
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.payment_status) == ("cancelled", "refunded")


def test_payment_transitions_are_staff_only(make_order, manager, staff):
    order = make_order()
    assert has_transition_perm(order.mark_paid, staff)
    assert not has_transition_perm(order.mark_paid, manager)
    assert not has_transition_perm(order.cancel_payment, staff)
    with pytest.raises(ActionRefused):
        order_transition(order=order, name="mark_paid", by=manager)
    assert Order.objects.get(pk=order.pk).payment_status == "pending"
