"""AfterShip tracking webhooks (`tracking_update`, `edd_revise`).

Signature (AfterShip's documented scheme for Tracking webhooks):

    header aftership-hmac-sha256: <base64 of HMAC-SHA256 of the raw body>

keyed with the webhook secret shown in AfterShip under Settings > Webhooks. The body holds
`event_id`, `event`, `ts` and `msg`, the tracking: `tracking_number`, `tag` (its delivery
status), `subtag`, the estimated delivery dates and `checkpoints` (each with its own `tag`,
`subtag`, `message`, `location` and `checkpoint_time`). Each checkpoint becomes one of our
tracking events.
"""

import base64
import datetime
import hashlib
import hmac

from ..tracking import (
    CODE_DELIVERED,
    CODE_DELIVERY_EXCEPTION,
    CODE_IN_TRANSIT,
    CODE_OUT_FOR_DELIVERY,
    CODE_RETURNED,
    WebhookRefused,
)
from . import (
    Delivery,
    a_date,
    check_signature,
    event,
    event_id,
    json_object,
    parcel_number,
    text,
)

NAME = "AfterShip"
SIGNATURE_HEADER = "aftership-hmac-sha256"

# AfterShip delivery statuses (tags) -> our event codes (orders/tracking.py).
STATUSES = {
    "Pending": "no_information",
    "InfoReceived": "info_received",
    "InTransit": CODE_IN_TRANSIT,
    "OutForDelivery": CODE_OUT_FOR_DELIVERY,
    "AttemptFail": "delivery_attempted",
    "Delivered": CODE_DELIVERED,
    # Waiting at a pickup point: the carrier holds it for the customer to collect.
    "AvailableForPickup": CODE_DELIVERY_EXCEPTION,
    "Exception": CODE_DELIVERY_EXCEPTION,
    "Expired": "no_information",
}
# Sub-statuses that say more than their tag: the parcel is back with the sender.
SUBSTATUSES = {"Exception_011": CODE_RETURNED}


def sign(secret, body):
    if isinstance(body, str):
        body = body.encode()
    digest = hmac.new(str(secret).encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(secret, signature, body):
    check_signature(NAME, SIGNATURE_HEADER, secret, sign, signature, body)


def parse(body):
    data = json_object(body)
    msg = data.get("msg")
    if not isinstance(msg, dict):
        raise WebhookRefused(400, "The body has no msg (the tracking).")
    number = parcel_number(msg.get("tracking_number"))
    parcel = text(msg.get("id")) or number
    checkpoints = msg.get("checkpoints") or []
    if not isinstance(checkpoints, list):
        raise WebhookRefused(400, "checkpoints must be a list.")
    events = []
    for n, point in enumerate(checkpoints):
        if not isinstance(point, dict):
            raise WebhookRefused(400, f"checkpoints[{n}] is not an object.")
        tag, subtag = text(point.get("tag")), text(point.get("subtag"))
        when = text(point.get("checkpoint_time"))
        message = text(point.get("message"))
        events.append(
            event(
                event_id=event_id("aftership", parcel, when, tag, subtag, message),
                tracking_number=number,
                code=_code(tag, subtag),
                occurred_at=when,
                description=_describe(message, tag, point.get("subtag_message")),
                location=_location(point),
            )
        )
    kind = text(data.get("event")) or "tracking_update"
    if not events and kind == "tracking_update":
        # No checkpoints yet: the tracking's own status, as of the webhook.
        tag, subtag = text(msg.get("tag")), text(msg.get("subtag"))
        events.append(
            event(
                event_id=event_id("aftership", parcel, text(data.get("event_id")), tag),
                tracking_number=number,
                code=_code(tag, subtag),
                occurred_at=_moment(data.get("ts")) or text(msg.get("updated_at")),
                description=_describe("", tag, msg.get("subtag_message")),
            )
        )
    return Delivery(tracking_number=number, events=events, estimated_delivery=_estimate(msg))


def _code(tag, subtag):
    if subtag in SUBSTATUSES:
        return SUBSTATUSES[subtag]
    if tag not in STATUSES:
        raise WebhookRefused(400, f"Unknown AfterShip status '{tag[:40]}'.")
    return STATUSES[tag]


def _describe(message, tag, subtag_message):
    detail = text(subtag_message)
    parts = [message, f"({NAME}: {tag}{', ' + detail if detail else ''})"]
    return " ".join(p for p in parts if p)[:300]


def _location(point):
    found = text(point.get("location"))
    if found:
        return found[:200]
    parts = [text(point.get(k)) for k in ("city", "state", "zip", "country_iso3")]
    return ", ".join(p for p in parts if p)[:200]


def _moment(ts):
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return ""
    try:
        return datetime.datetime.fromtimestamp(ts, tz=datetime.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return ""


def _estimate(msg):
    """The carrier's estimate first, then AfterShip's own."""
    for key in ("courier_estimated_delivery_date", "aftership_estimated_delivery_date"):
        value = msg.get(key)
        if isinstance(value, dict) and a_date(value.get("estimated_delivery_date")):
            return a_date(value.get("estimated_delivery_date"))
    return a_date(msg.get("expected_delivery"))
