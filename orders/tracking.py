"""Carrier tracking: checking a signed webhook call, storing its event once, and moving the
order along the Shipped states.

The signing scheme (documented for carriers in the README):

    signed   = timestamp + "." + raw request body          (bytes; timestamp in Unix seconds)
    header X-Tracking-Timestamp: <timestamp>
    header X-Tracking-Signature: sha256=<hex HMAC-SHA256 of `signed` with the shared secret>

A call is refused when the signature does not match (compared in constant time), when its
timestamp is more than five minutes away from our clock, or when its event id was already
received. The HTTP endpoint lives in dashboard/webhooks.py and only translates to and from
HTTP; everything it decides is here.
"""

import datetime
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import effects, events
from . import statuses as st
from .models import Order, TrackingEvent
from .services import ActionRefused, order_transition
from .statuses import Status
from .text import unstorable

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Tracking-Timestamp"
SIGNATURE_HEADER = "X-Tracking-Signature"
SIGNATURE_PREFIX = "sha256="
MAX_SKEW = datetime.timedelta(minutes=5)
MAX_FUTURE_EVENT = datetime.timedelta(hours=1)

# Carrier event codes (as carriers and aggregators send them, folded to lower case) and the
# order transition each one asks for. Codes mapped to None are stored but move nothing.
# The codes spelled like the order states they lead to are the carriers' words (and what our
# webhook accepts), not order statuses: each is named once, here.
CODE_IN_TRANSIT = "in_transit"
CODE_OUT_FOR_DELIVERY = "out_for_delivery"
CODE_DELIVERED = "delivered"
CODE_DELIVERY_EXCEPTION = "delivery_exception"
CODE_RETURNED = "returned"
EVENT_CODES = {
    "label_created": None,
    "info_received": None,
    "picked_up": "scan",
    "accepted": "scan",
    "scan": "scan",
    CODE_IN_TRANSIT: "scan",
    "arrived_at_facility": "scan",
    "departed_facility": "scan",
    CODE_OUT_FOR_DELIVERY: Order.out_for_delivery.__name__,  # the transition of that name
    CODE_DELIVERED: "deliver",
    "exception": "exception",
    CODE_DELIVERY_EXCEPTION: "exception",
    "delivery_attempted": "exception",
    CODE_RETURNED: "return_to_sender",
    "return_to_sender": "return_to_sender",
    # Aggregators' statuses that say nothing about where the parcel is.
    "no_information": None,
    "label_cancelled": None,
}

MOVING_CODES = sorted(code for code, name in EVENT_CODES.items() if name is not None)


class WebhookRefused(Exception):
    """The call is not accepted; `status` is the HTTP status the endpoint answers with."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class TrackingResult:
    order: Order
    event: TrackingEvent
    moved: bool
    detail: str

    def as_json(self):
        return {
            "status": "applied" if self.moved else "stored",
            "event_id": self.event.event_id,
            "order": self.order.number,
            "order_status": self.order.status,
            "detail": self.detail,
        }


# --- signature -----------------------------------------------------------------------------


def sign(secret, timestamp, body):
    """The X-Tracking-Signature value for `body` sent at `timestamp` (Unix seconds)."""
    if isinstance(body, str):
        body = body.encode()
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(str(secret).encode(), signed, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signed_headers(secret, body, timestamp=None):
    """Headers a sender adds to a call (used by the simulator and the tests)."""
    timestamp = int(timestamp if timestamp is not None else timezone.now().timestamp())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify_signature(*, secret, timestamp, signature, body, now=None):
    """Raise WebhookRefused unless the call is signed with `secret` and recent."""
    if not secret:
        raise WebhookRefused(503, "Tracking webhook is not configured on this server.")
    if not timestamp or not signature:
        raise WebhookRefused(
            401, f"Missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header: the call is unsigned."
        )
    try:
        sent_at = int(str(timestamp).strip())
    except ValueError:
        raise WebhookRefused(401, f"{TIMESTAMP_HEADER} must be Unix seconds.") from None
    expected = sign(secret, sent_at, body)
    if not hmac.compare_digest(expected.encode(), str(signature).strip().encode()):
        raise WebhookRefused(401, "Signature does not match.")
    now = now or timezone.now()
    skew = abs(now.timestamp() - sent_at)
    if skew > MAX_SKEW.total_seconds():
        raise WebhookRefused(
            401, "Timestamp is more than 5 minutes away from the server clock: refused as stale."
        )


# --- the event -----------------------------------------------------------------------------


def parse_event(body):
    """The event in a webhook body, checked; WebhookRefused(400) says what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: arrays or objects nested thousands deep.
        raise WebhookRefused(400, "Body is not valid JSON.") from None
    return check_event(data)


def check_event(data):
    """An event as a dict of our fields (from our body, or built by a tracking source in
    orders/carrier_sources/), checked; WebhookRefused(400) says what is wrong."""
    if not isinstance(data, dict):
        raise WebhookRefused(400, "Body must be a JSON object.")
    missing = [k for k in ("event_id", "tracking_number", "code", "occurred_at") if not data.get(k)]
    if missing:
        raise WebhookRefused(400, f"Missing field(s): {', '.join(missing)}.")
    texts = {}
    for key in ("event_id", "tracking_number", "code", "occurred_at", "description", "location"):
        value = data.get(key)
        if value is None:
            value = ""  # carriers send null for an unknown location or description
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise WebhookRefused(400, f"Field {key} must be a string.")
        texts[key] = str(value).strip()
        problem = unstorable(texts[key])
        if problem:
            # Else PostgreSQL refuses the look-up: a 503 the carrier would retry for ever.
            raise WebhookRefused(400, f"Field {key} {problem}")
    if len(texts["event_id"]) > 100:
        raise WebhookRefused(400, "event_id is longer than 100 characters.")
    if len(texts["tracking_number"]) > 64:
        raise WebhookRefused(400, "tracking_number is longer than 64 characters.")
    code = texts["code"].lower()
    if len(code) > 40:
        raise WebhookRefused(400, "code is longer than 40 characters.")
    try:
        occurred_at = parse_datetime(texts["occurred_at"])
    except ValueError:
        occurred_at = None
    if occurred_at is None:
        raise WebhookRefused(400, "occurred_at must be an ISO 8601 date and time.")
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at, datetime.UTC)
    try:
        # Stored in UTC: PostgreSQL refuses offsets beyond 15:59, and 0001-01-01 at +01:00
        # is before the first representable moment.
        occurred_at = occurred_at.astimezone(datetime.UTC)
    except OverflowError:
        raise WebhookRefused(400, "occurred_at is out of range.") from None
    if occurred_at > timezone.now() + MAX_FUTURE_EVENT:
        # It would count as the parcel's latest event and block every real one after it.
        raise WebhookRefused(400, "occurred_at is in the future: check the time zone offset.")
    return {
        "event_id": texts["event_id"],
        "tracking_number": texts["tracking_number"],
        "code": code,
        "description": texts["description"][:300],
        "location": texts["location"][:200],
        "occurred_at": occurred_at,
    }


def _find_order(tracking_number):
    # A number is unique per parcel; if a carrier ever reuses one, the newest order wins.
    return (
        Order.objects.filter(tracking_number=tracking_number)
        .exclude(status=Status.CLEAN_SWEPT)
        .order_by("-id")
        .first()
    )


def record_tracking_event(*, event):
    """Carrier webhook (and only it): store one checked event and, when it is the newest
    the order has seen and its transition is allowed, move the order along.

    Raises WebhookRefused: 404 for an unknown tracking number, 409 for an event id already
    received. An event older than the order's latest moving event is stored but never moves
    it; events that move nothing (info_received, unknown codes) never count as the latest."""
    found = _find_order(event["tracking_number"])
    if found is None:
        logger.warning(
            "tracking webhook: unknown tracking number %r (event %s, code %s)",
            event["tracking_number"],
            event["event_id"],
            event["code"],
        )
        raise WebhookRefused(404, f"Unknown tracking number {event['tracking_number']}.")
    with transaction.atomic():
        # The order's row lock serialises events for one parcel: "latest" cannot race.
        order = Order.objects.select_for_update().get(pk=found.pk)
        if TrackingEvent.objects.filter(event_id=event["event_id"]).exists():
            raise WebhookRefused(409, f"Event {event['event_id']} was already received.")
        # Only events that move an order decide what "latest" is: an info_received or an
        # unknown code is stored, and must not block an earlier scan that arrives after it.
        latest = (
            TrackingEvent.objects.filter(order=order, code__in=MOVING_CODES)
            .order_by("-occurred_at", "-id")
            .values_list("occurred_at", flat=True)
            .first()
        )
        try:
            with transaction.atomic():
                stored = TrackingEvent.objects.create(order=order, **_event_fields(event))
        except IntegrityError:
            raise WebhookRefused(409, f"Event {event['event_id']} was already received.") from None
        moved, detail, order = _move(order, event, latest)
        live = order.status in st.SHIPPED_STATES and order.status not in st.FINAL_STATES
        if not moved and live and (latest is None or event["occurred_at"] >= latest):
            # A newer scan that moved nothing (still in transit) is news for the merchant too.
            effects.record_event(
                events.TRACKING_UPDATED,
                merchant=order.merchant_id,
                order=order,
                data={"tracking_event": _tracking_json(stored)},
            )
    return TrackingResult(order=order, event=stored, moved=moved, detail=detail)


def _tracking_json(stored):
    return {
        "code": stored.code,
        "description": stored.description,
        "location": stored.location,
        "occurred_at": stored.occurred_at.isoformat(),
    }


def _event_fields(event):
    return {k: event[k] for k in ("event_id", "code", "description", "location", "occurred_at")}


def _move(order, event, latest):
    name = EVENT_CODES.get(event["code"])
    if name is None:
        known = "" if event["code"] in EVENT_CODES else "unknown code; "
        return False, f"{known}stored without changing the order", order
    if latest is not None and event["occurred_at"] < latest:
        return False, "older than the order's latest tracking event: stored only", order
    new_rank = st.TRACKING_RANK.get(_target_of(name))
    old_rank = st.TRACKING_RANK.get(order.status)
    if (
        latest is not None
        and event["occurred_at"] == latest
        and new_rank is not None
        and old_rank is not None
        and new_rank <= old_rank
    ):
        return False, "same time as the latest event and not further along: stored only", order
    note = " · ".join(p for p in [event["description"], event["location"]] if p)
    try:
        order = order_transition(order=order, name=name, by="carrier", note=note)
    except ActionRefused as exc:
        return False, f"stored; status unchanged ({exc.message})", order
    return True, f"moved to {order.state.label}", order


def _target_of(name):
    """The state a carrier transition leads to, read from the state machine itself."""
    for transition in Order._meta.get_field("status").get_all_transitions(Order):
        if transition.name == name:
            return transition.target
    return None


# --- the whole call ------------------------------------------------------------------------


def receive_webhook(*, body, timestamp, signature, secret, now=None):
    """Everything the webhook endpoint does, minus HTTP: verify, parse, record.
    Returns a TrackingResult or raises WebhookRefused."""
    verify_signature(secret=secret, timestamp=timestamp, signature=signature, body=body, now=now)
    return record_tracking_event(event=parse_event(body))
