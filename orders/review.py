"""The review step: decides whether an order in Import Review can be fulfilled, and where.

`review_order(order_id)` runs the SPEC's checks in order and either accepts the order (choosing
the facility, reserving stock, setting ship-by, copying the carrier and service of its ship
option) or holds it with the first failing reason. Every status change goes through
`order_transition` as the system actor "review", so each leaves a history row.

Who calls it: the review task (orders.tasks), which runs after every import, submit, retry,
approve and release; and the batch importer, which reviews its orders in one pass.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction

from . import statuses as st
from .addresses import address_errors
from .models import (
    FulfillmentCenter,
    InsufficientStock,
    InventoryLevel,
    Order,
    OrderLine,
    Product,
    ShipOptionMapping,
)
from .services import ActionRefused, order_transition

log = logging.getLogger(__name__)

REVIEWER = "review"


@dataclass
class ReviewCache:
    """Reference data a run of many reviews reads once: facilities and ship-option mappings
    change rarely, stock levels are read fresh for every order."""

    centers: list | None = None
    mappings: dict = field(default_factory=dict)

    def all_centers(self):
        if self.centers is None:
            self.centers = list(FulfillmentCenter.objects.order_by("code"))
        return self.centers

    def mapping_for(self, merchant_id, option):
        if merchant_id not in self.mappings:
            self.mappings[merchant_id] = {
                m.store_option.strip().lower(): m
                for m in ShipOptionMapping.objects.filter(merchant_id=merchant_id)
            }
        return self.mappings[merchant_id].get((option or "").strip().lower())


def review_order(order_id, *, cache=None):
    """System only (the review task, the batch importer): review one order.

    Does nothing unless the order is in Import Review (a review requested twice, or for an
    order that moved on meanwhile, is harmless). Returns the order as it is afterwards.
    """
    cache = cache or ReviewCache()
    with transaction.atomic():
        # Lock the order row only: a plain FOR UPDATE over the join would also lock the
        # merchant's row, serialising every review of a merchant and deadlocking with
        # inserts that check their foreign key to that merchant at commit.
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("merchant")
            .filter(pk=order_id)
            .first()
        )
        if order is None or order.status != "import_review":
            return order
        lines = list(order.lines.select_related("product"))
        _link_new_products(order, lines)
        failing = first_failing_check(order, lines, cache)
        if failing:
            return _hold(order, *failing)
        return _accept_somewhere(order, lines, cache)


def first_failing_check(order, lines, cache):
    """(hold reason, note) for the first check the order fails, in the SPEC's order; None
    when only the stock check is left."""
    if not lines:
        return "product_configuration", "The order has no lines."
    unknown = [line.sku for line in lines if line.product_id is None]
    if unknown:
        return "product_configuration", f"Unknown SKU: {', '.join(sorted(set(unknown)))}."
    unconnected = [line.sku for line in lines if not line.product.connected]
    if unconnected:
        return "not_connected", f"Not connected: {', '.join(sorted(set(unconnected)))}."
    flows = {line.product.flow for line in lines}
    if len(flows) > 1:
        return (
            "product_configuration",
            "The order mixes stock items and print products; split it into two orders.",
        )
    if not order.ship_option.strip():
        return "product_configuration", "The order has no ship option."
    if cache.mapping_for(order.merchant_id, order.ship_option) is None:
        return (
            "product_configuration",
            f"Ship option '{order.ship_option}' is not mapped to a carrier service.",
        )
    problems = address_errors(order.address_dict())
    if problems:
        return "invalid_address", " ".join(problems.values())
    waiting = [line.sku for line in lines if not line.personalization_complete]
    if waiting:
        return (
            "pending_personalization",
            f"Personalization not finished for {', '.join(sorted(set(waiting)))}.",
        )
    if order.needs_approval and order.approved_at is None:
        return "pending_approval", "This order needs manual approval."
    if order.payment_status == "refused":
        return "payment_refused", "The payment was refused."
    return None


def _link_new_products(order, lines):
    """A SKU unknown at import may have been added since (the merchant fixed it and
    retried): link it now, and let the flow follow the products as at import."""
    missing = [line for line in lines if line.product_id is None]
    if not missing:
        return
    products = {
        p.sku: p
        for p in Product.objects.filter(
            merchant_id=order.merchant_id, sku__in={line.sku for line in missing}
        )
    }
    linked = []
    for line in missing:
        if line.sku in products:
            line.product = products[line.sku]
            linked.append(line)
    if not linked:
        return
    OrderLine.objects.bulk_update(linked, ["product"])
    kinds = {line.product.kind for line in lines if line.product_id}
    order.flow = st.STOCK if kinds <= {"stock"} else st.PRINT
    order.has_embroidery = "embroidery" in kinds
    Order.objects.filter(pk=order.pk).update(flow=order.flow, has_embroidery=order.has_embroidery)


def candidate_centers(order, lines, cache):
    """Facilities that can ship the whole order now, those in the customer's country first.

    For stock orders a facility qualifies when it has every product available in the needed
    quantity; print orders need a facility that produces print. This is a read: the accept
    itself reserves with a conditional UPDATE, so a facility that lost its stock meanwhile is
    refused there and the next one is tried.
    """
    if order.flow == st.PRINT:
        able = [c for c in cache.all_centers() if c.handles_print]
    else:
        needed = {}
        for line in lines:
            needed[line.product_id] = needed.get(line.product_id, 0) + line.quantity
        available = {}
        for center_id, product_id, on_hand, reserved in InventoryLevel.objects.filter(
            product_id__in=needed
        ).values_list("center_id", "product_id", "on_hand", "reserved"):
            available[center_id, product_id] = on_hand - reserved
        able = [
            c
            for c in cache.all_centers()
            if c.handles_stock
            and all(available.get((c.pk, p), 0) >= qty for p, qty in needed.items())
        ]
    return sorted(able, key=lambda c: (c.country != order.country, c.code))


def _accept_somewhere(order, lines, cache):
    mapping = cache.mapping_for(order.merchant_id, order.ship_option)
    for center in candidate_centers(order, lines, cache):
        try:
            return order_transition(
                order=order,
                name="accept",
                by=REVIEWER,
                note=f"Ships from {center.code}",
                params={"center": center, "carrier": mapping.carrier, "service": mapping.service},
            )
        except ActionRefused as exc:
            if not isinstance(exc.__cause__, InsufficientStock):
                raise
            log.info("review: %s lost its stock at %s; trying the next facility", order, center)
    if order.flow == st.PRINT:
        return _hold(
            order, "special_requirements", "No facility can produce this order; staff will check."
        )
    return _hold(order, "insufficient_inventory", "No facility has stock for the whole order.")


def _hold(order, reason, note):
    return order_transition(
        order=order, name="hold", by=REVIEWER, params={"reason": reason, "note": note}
    )


def review_orders(order_ids, *, on_progress=None, every=200):
    """System only: review many orders in the given order with shared reference data.
    `on_progress(done)` is called every `every` orders and at the end."""
    cache = ReviewCache()
    done = 0
    for order_id in order_ids:
        review_order(order_id, cache=cache)
        done += 1
        if on_progress and done % every == 0:
            on_progress(done)
    if on_progress:
        on_progress(done)
    return done
