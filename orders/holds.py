"""Ways out of holds that need more than one transition: stock arriving at a facility, and
personalization being finished.

The single-step ways out are transitions used through orders.services: retry (merchant),
approve / release / decline (staff), order_edit_address (merchant; back to review on save),
mark_paid (payment system; back to review).
"""

from django.db import transaction
from django.db.models import Sum

from .models import InventoryLevel, Order, OrderLine, manages
from .services import (
    ActionRefused,
    OrderChanged,
    audited,
    is_person,
    lock_as_seen,
    order_transition,
)
from .statuses import Action, Hold, Status

STOCK_ARRIVED = "stock arrived"


def order_stock_arrived(*, product):
    """System (called when staff receive stock in the admin): send the orders held for
    insufficient inventory that contain `product` back to review, oldest first.

    Only as many as the facilities' available stock of this product can serve are retried,
    so a small delivery does not send every held order round the review loop again. The
    review itself decides (other products may still be short). Returns the retried orders.
    """
    available = {
        center_id: on_hand - reserved
        for center_id, on_hand, reserved in InventoryLevel.objects.filter(
            product=product, center__handles_stock=True
        ).values_list("center_id", "on_hand", "reserved")
    }
    held = (
        Order.objects.filter(
            merchant_id=product.merchant_id,
            status=Status.ACTION_REQUIRED,
            hold_reason=Hold.INSUFFICIENT_INVENTORY,
            lines__product=product,
        )
        .annotate(wanted=Sum("lines__quantity"))
        .order_by("created_at", "id")
    )
    retried = []
    for order in held:
        center = next((c for c, free in available.items() if free >= order.wanted), None)
        if center is None:
            continue
        try:
            retried.append(
                order_transition(order=order, name="retry", by=STOCK_ARRIVED, note=str(product))
            )
        except OrderChanged:
            continue  # someone retried or cancelled it meanwhile
        available[center] -= order.wanted
    return retried


def order_actions(order, user):
    """The names of the transitions and actions `user` may apply to `order` now: what the
    state machine allows them, with complete_personalization in place of retry while the
    order waits for its buyer's personalization (a plain retry would only be held again).
    The order page offers its buttons from these; the service checks again on POST."""
    available = {t.name for t in order.get_available_user_status_transitions(user)}
    if personalization_refusal(order, user) is None:
        available = (available - {Action.RETRY}) | {Action.COMPLETE_PERSONALIZATION}
    return available


def personalization_refusal(order, user=None):
    """Why the personalization of `order` cannot be marked complete (by `user`, a person),
    in the merchant's words; None when it can."""
    if user is not None and not manages(user, order.merchant_id):
        return "only a manager of this merchant can do this"
    if order.status != Status.ACTION_REQUIRED or order.hold_reason != Hold.PENDING_PERSONALIZATION:
        return "the order is not waiting for personalization"
    return None


@audited("complete_personalization")
def order_complete_personalization(*, order, by, note="", expected_status=None):
    """Merchant manager (order page) or the store (API token): the buyer finished
    personalising. Under the order's row lock, marks every line's personalization complete
    and sends the order, held for pending personalization, back to review (the retry
    transition, with its history row), so review no longer holds it for this.

    `expected_status` is the status the caller saw; if the order moved on since, nothing is
    done (OrderChanged). Refused (ActionRefused) for anyone but a manager of the merchant,
    and for an order not held for pending personalization."""
    with transaction.atomic():
        locked = lock_as_seen(order, expected_status)
        why = personalization_refusal(locked, by if is_person(by) else None)
        if why:
            raise ActionRefused(f"Order {locked.number}: {why}.", order=locked)
        OrderLine.objects.filter(order=locked, personalization_complete=False).update(
            personalization_complete=True
        )
        locked.act_as(by, note or "personalization complete")
        locked.retry()
        locked.save()
    return locked
