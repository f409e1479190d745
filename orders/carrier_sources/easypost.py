"""EasyPost tracker events (`tracker.created`, `tracker.updated`).

Signature (EasyPost's documented webhook scheme, as its client libraries verify it):

    header X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256 of the raw body>

keyed with the webhook secret set on the EasyPost webhook, Unicode-normalised (NFKD) and
UTF-8 encoded. The body is an Event whose `result` is the Tracker: its `tracking_code`,
`status`, `est_delivery_date` and `tracking_details` (the carrier's scans, each with its
own `status`, `message`, `datetime` and `tracking_location`). Each scan becomes one of our
tracking events.
"""

import hashlib
import hmac
import unicodedata

from ..tracking import (
    CODE_DELIVERED,
    CODE_DELIVERY_EXCEPTION,
    CODE_IN_TRANSIT,
    CODE_OUT_FOR_DELIVERY,
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

NAME = "EasyPost"
SIGNATURE_HEADER = "X-Hmac-Signature"
PREFIX = "hmac-sha256-hex="

# EasyPost tracker and tracking-detail statuses (its words, some spelled like our order
# states) -> our event codes (orders/tracking.py).
STATUSES = {
    "unknown": "no_information",
    "pre_transit": "label_created",
    "in_transit": CODE_IN_TRANSIT,
    "out_for_delivery": CODE_OUT_FOR_DELIVERY,
    # Waiting at a pickup point: the carrier holds it for the customer to collect.
    "available_for_pickup": CODE_DELIVERY_EXCEPTION,
    "delivered": CODE_DELIVERED,
    "return_to_sender": "return_to_sender",
    "failure": CODE_DELIVERY_EXCEPTION,
    "cancelled": "label_cancelled",
    "error": "no_information",
}


def sign(secret, body):
    if isinstance(body, str):
        body = body.encode()
    key = unicodedata.normalize("NFKD", str(secret)).encode()
    return PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(secret, signature, body):
    check_signature(NAME, SIGNATURE_HEADER, secret, sign, signature, body)


def parse(body):
    data = json_object(body)
    tracker = data.get("result")
    if not isinstance(tracker, dict) or tracker.get("object", "Tracker") != "Tracker":
        raise WebhookRefused(400, "The event's result is not a Tracker.")
    number = parcel_number(tracker.get("tracking_code"))
    parcel = text(tracker.get("id")) or number
    details = tracker.get("tracking_details") or []
    if not isinstance(details, list):
        raise WebhookRefused(400, "tracking_details must be a list.")
    events = []
    for n, detail in enumerate(details):
        if not isinstance(detail, dict):
            raise WebhookRefused(400, f"tracking_details[{n}] is not an object.")
        status = text(detail.get("status")).lower()
        when = text(detail.get("datetime"))
        message = text(detail.get("message"))
        events.append(
            event(
                event_id=event_id("easypost", parcel, when, status, message),
                tracking_number=number,
                code=_code(status),
                occurred_at=when,
                description=_describe(message, detail.get("status_detail"), status),
                location=_location(detail.get("tracking_location")),
            )
        )
    if not events:
        # A tracker without scans yet: its own status, as of the event.
        status = text(tracker.get("status")).lower()
        when = text(tracker.get("updated_at")) or text(data.get("created_at"))
        events.append(
            event(
                event_id=event_id("easypost", parcel, text(data.get("id")), status),
                tracking_number=number,
                code=_code(status),
                occurred_at=when,
                description=_describe("", tracker.get("status_detail"), status),
            )
        )
    return Delivery(
        tracking_number=number,
        events=events,
        estimated_delivery=a_date(tracker.get("est_delivery_date")),
    )


def _code(status):
    if status not in STATUSES:
        raise WebhookRefused(400, f"Unknown EasyPost status '{status[:40]}'.")
    return STATUSES[status]


def _describe(message, status_detail, status):
    detail = text(status_detail)
    parts = [message, f"({NAME}: {status}{', ' + detail if detail else ''})"]
    return " ".join(p for p in parts if p)[:300]


def _location(place):
    if not isinstance(place, dict):
        return ""
    parts = [text(place.get(k)) for k in ("city", "state", "zip", "country")]
    return ", ".join(p for p in parts if p)[:200]
