"""Ways out of holds that need more than one transition: stock arriving at a facility, and
personalization being finished.

The single-step ways out are transitions used through orders.services: retry (merchant),
approve / release / decline (staff), order_edit_address (merchant; back to review on save),
mark_paid (payment system; back to review).
"""

from django.db import transaction
from django.db.models import Sum

from .models import InventoryLevel, Order, OrderLine, merchant_roles
from .services import ActionRefused, OrderChanged, is_person, order_transition

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
            status="action_required",
            hold_reason="insufficient_inventory",
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


def order_complete_personalization(*, order, by):
    """Merchant manager (or the store's system): the buyer finished personalising. Marks
    every line complete and, if the order is held for pending personalization, sends it back
    to review in the same transaction."""
    if is_person(by) and merchant_roles(by).get(order.merchant_id) != "manager":
        raise ActionRefused("Only a manager of this merchant can do this.", order=order)
    with transaction.atomic():
        OrderLine.objects.filter(order=order, personalization_complete=False).update(
            personalization_complete=True
        )
        current = Order.objects.get(pk=order.pk)
        if current.status == "action_required" and current.hold_reason == "pending_personalization":
            return order_transition(
                order=current, name="retry", by=by, note="personalization complete"
            )
    return current
