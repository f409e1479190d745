"""The merchant events: their stable names (an API contract), which status change writes
which, and the versioned JSON document each carries.

Events are written only by orders/effects.py, in the transaction of the change they
describe (an outbox). Everything that tells a merchant (webhooks, e-mail, the inbox) reads
these rows and never hooks into transitions. See docs/webhooks.md.
"""

import functools
from urllib.parse import quote

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.http import RFC3986_SUBDELIMS

from . import hold_detail as hd
from . import statuses as st
from .statuses import Status

PAYLOAD_VERSION = 1

IMPORTED = "order.imported"
HELD = "order.held"
RELEASED = "order.released"
ACCEPTED = "order.accepted"
SHIPPED = "order.shipped"
TRACKING_UPDATED = "order.tracking_updated"
DELIVERED = "order.delivered"
DELIVERY_EXCEPTION = "order.delivery_exception"
RETURNED = "order.returned"
FAILED = "order.failed"
CANCELLED = "order.cancelled"
CLEAN_SWEPT = "order.clean_swept"
PAYMENT_UPDATED = "order.payment_updated"
ADDRESS_CHANGE_REQUESTED = "order.address_change_requested"
IMPORT_FINISHED = "import.finished"
# Only ever sent by "send test event" on an endpoint's page; never stored as an event.
TEST = "webhook.test"

# (type, what it means to a merchant), in the order the settings pages list them.
EVENT_TYPES = [
    (IMPORTED, "An order entered review (imported, reimported or a draft submitted)"),
    (HELD, "An order is on hold (Action Required), with the reason and its detail"),
    (RELEASED, "A held order went back to review"),
    (ACCEPTED, "An order was accepted at a facility"),
    (SHIPPED, "An order was handed to the carrier (carrier, service, tracking)"),
    (TRACKING_UPDATED, "The carrier scanned a shipped order"),
    (DELIVERED, "An order was delivered"),
    (DELIVERY_EXCEPTION, "The carrier could not deliver an order"),
    (RETURNED, "An order came back to the sender"),
    (FAILED, "An order failed"),
    (CANCELLED, "An order was cancelled"),
    (CLEAN_SWEPT, "An order was clean swept"),
    (PAYMENT_UPDATED, "An order's payment status changed"),
    (ADDRESS_CHANGE_REQUESTED, "An address change was requested after the point of no return"),
    (IMPORT_FINISHED, "An import finished (counts and link)"),
]
TYPE_NAMES = [name for name, _ in EVENT_TYPES]
# What happened, after "Order <number>", in a line of the inbox or an e-mail subject.
SAID = {
    IMPORTED: "entered review",
    HELD: "is on hold",
    RELEASED: "went back to review",
    ACCEPTED: "was accepted",
    SHIPPED: "was handed to the carrier",
    TRACKING_UPDATED: "has a new carrier scan",
    DELIVERED: "was delivered",
    DELIVERY_EXCEPTION: "could not be delivered",
    RETURNED: "came back to the sender",
    FAILED: "failed",
    CANCELLED: "was cancelled",
    CLEAN_SWEPT: "was clean swept",
    PAYMENT_UPDATED: "has a payment update",
    ADDRESS_CHANGE_REQUESTED: "has an address change request",
}
TYPE_LABELS = dict(EVENT_TYPES)

# The status a change leads to -> the event it writes. States missing here (the steps
# inside Processing, Draft) are not announced: nothing changes for the merchant.
_BY_TARGET = {
    Status.ACTION_REQUIRED: HELD,
    Status.PROCESSING: ACCEPTED,
    Status.SHIPPED: SHIPPED,
    Status.IN_TRANSIT: TRACKING_UPDATED,
    Status.OUT_FOR_DELIVERY: TRACKING_UPDATED,
    Status.DELIVERED: DELIVERED,
    Status.DELIVERY_EXCEPTION: DELIVERY_EXCEPTION,
    Status.RETURNED: RETURNED,
    Status.FAILED: FAILED,
    Status.CANCELLED: CANCELLED,
    Status.CLEAN_SWEPT: CLEAN_SWEPT,
}


def type_for_change(field, source, target):
    """The event type a change of `field` from `source` to `target` writes, or None."""
    if field == "payment_status":
        return PAYMENT_UPDATED
    if target == Status.IMPORT_REVIEW:
        return RELEASED if source == Status.ACTION_REQUIRED else IMPORTED
    return _BY_TARGET.get(target)


def site_url(path):
    """An absolute address on the dashboard (SITE_URL + path), for e-mails and webhooks."""
    return settings.SITE_URL.rstrip("/") + path


def order_url(order):
    """The order page's absolute address: what reverse() gives, without reversing once per
    event (an import writes thousands)."""
    number = str(order.number)
    around = _order_path_around(get_script_prefix())
    if around is None or not number or "/" in number or "\x00" in number:
        return site_url("/")  # where reverse() finds no match
    before, after = around
    return site_url(before + quote(number, safe=RFC3986_SUBDELIMS + "/~:@") + after)


@functools.lru_cache(maxsize=4)
def _order_path_around(script_prefix):
    """The order page's path before and after the number, as reverse() quotes it."""
    marker = "NUMBER"
    try:
        path = reverse("order_detail", kwargs={"number": marker})
    except NoReverseMatch:
        return None
    before, _marker, after = path.rpartition(marker)
    return before, after


def order_data(order):
    """The order as every order event describes it, in the status catalog's words."""
    state = st.STATE_BY_VALUE.get(order.status)
    hold = st.HOLD_BY_VALUE.get(order.hold_reason) if order.hold_reason else None
    source = hold or state
    data = {
        "number": order.number,
        "status": st.group_of(order.status).label,
        "sub_status": hold.label if hold else (state.label if state else order.status),
        "state": order.status,
        "explanation": source.explanation if source else "",
        "what_you_can_do": source.what_you_can_do if source else "",
        "payment_status": order.payment_status,
        "url": order_url(order),
    }
    if hold:
        # `detail`: the specific sentences the order page shows (hold_detail.describe);
        # `facts`: the same as data (which SKU, quantities, field...); `note`: the hold's note.
        data["hold"] = {
            "reason": order.hold_reason,
            "label": hold.label,
            "owner": hold.owner,
            "detail": hd.describe(order.hold_reason, order.hold_detail),
            "facts": order.hold_detail or {},
            "note": order.hold_note,
        }
    if order.status == Status.FAILED:
        data["failure_reason"] = order.failure_reason
    if order.tracking_number:
        data["shipment"] = {
            "carrier": order.carrier,
            "service": order.service,
            "tracking_number": order.tracking_number,
            "tracking_url": tracking_url(order.carrier, order.tracking_number),
        }
    return data


def tracking_url(carrier, number):
    from .carriers import tracking_url as carrier_url

    return carrier_url(carrier, number) or ""


def payload(event_type, data, *, change=None):
    """The versioned document an event stores and a webhook sends as `data`."""
    document = {"version": PAYLOAD_VERSION, "type": event_type, **data}
    if change:
        document["change"] = change
    return document
