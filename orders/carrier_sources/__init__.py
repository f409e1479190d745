"""Tracking from aggregators: one module per source (easypost.py, aftership.py), each with
its own signature scheme, its own status table and its own secret, all ending in the same
service as our own signed format (orders/tracking.py, `record_tracking_event`), so a
duplicate or out-of-order event behaves exactly as it does there: stored once, never moving
an order backwards.

A source's module provides:

    NAME              "EasyPost"
    SIGNATURE_HEADER  the HTTP header carrying the signature
    sign(secret, body) -> the header's value (for tests and the docs)
    verify(secret, signature, body)   raises WebhookRefused(401/503)
    parse(body) -> Delivery           raises WebhookRefused(400)
    STATUSES          the provider's statuses -> our event codes (orders/tracking.py)

The HTTP endpoints live in dashboard/tracking_sources.py.
"""

import datetime
import hashlib
import hmac
import json
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime

from ..models import Order, TrackingEvent
from ..statuses import Status
from ..text import unstorable
from ..tracking import WebhookRefused, check_event, record_tracking_event


@dataclass
class Delivery:
    """What one aggregator call tells us about one parcel."""

    tracking_number: str
    events: list = field(default_factory=list)  # checked events (orders/tracking.check_event)
    estimated_delivery: datetime.date | None = None


@dataclass
class Received:
    order: Order
    stored: int
    duplicates: int
    moved: list  # details of the events that moved the order

    def as_json(self):
        return {
            "order": self.order.number,
            "order_status": self.order.status,
            "events_stored": self.stored,
            "events_already_received": self.duplicates,
            "moved": self.moved,
            "estimated_delivery": (
                self.order.estimated_delivery.isoformat() if self.order.estimated_delivery else None
            ),
        }


def check_signature(provider, header, secret, sign, signature, body):
    """Refuses the call unless `signature` (the `header` value) is what `sign(secret, body)`
    makes: 503 while the provider's secret is not configured, 401 when unsigned or wrong."""
    if not secret:
        raise WebhookRefused(503, f"{provider} tracking is not configured on this server.")
    if not signature:
        raise WebhookRefused(401, f"Missing {header} header: the call is unsigned.")
    if not compare_signature(sign(secret, body), signature):
        raise WebhookRefused(401, "Signature does not match.")


def json_object(body):
    """The body as a JSON object, or WebhookRefused(400) saying why it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise WebhookRefused(400, "Body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise WebhookRefused(400, "Body must be a JSON object.")
    return data


def compare_signature(expected, given):
    """Constant-time comparison of two header values."""
    return hmac.compare_digest(str(expected).strip().encode(), str(given or "").strip().encode())


def event_id(source, parcel, *parts):
    """A stable id for an event the provider does not number itself (a tracker's history
    entry): the same entry sent again is the same id, so a replay is a duplicate."""
    # surrogatepass: a lone surrogate still makes an id; the event's checks then refuse it.
    joined = "\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(joined).hexdigest()[:24]
    return f"{source}:{str(parcel)[:50]}:{digest}"


def event(*, event_id, tracking_number, code, occurred_at, description="", location=""):
    """One of our events from a provider's values, with the same checks as our format."""
    return check_event(
        {
            "event_id": event_id,
            "tracking_number": tracking_number,
            "code": code,
            "occurred_at": occurred_at,
            "description": description,
            "location": location,
        }
    )


def parcel_number(value):
    """The call's tracking number, checked before anything looks it up."""
    number = text(value)
    if not number:
        raise WebhookRefused(400, "The call has no tracking number.")
    problem = unstorable(number)
    if problem:
        raise WebhookRefused(400, f"The tracking number {problem}")
    if len(number) > 64:
        raise WebhookRefused(400, "The tracking number is longer than 64 characters.")
    return number


def text(value, limit=None):
    if value is None or isinstance(value, dict | list | bool):
        return ""
    value = str(value).strip()
    return value[:limit] if limit else value


def a_date(value):
    """A date from "2026-12-05" or an ISO date and time; None when absent or unreadable."""
    value = text(value)
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        return moment.date() if moment else parse_date(value)
    except ValueError:
        return None


def receive(delivery):
    """Record every event of the delivery (oldest first) through our tracking service, then
    keep the carrier's estimated delivery date unless the call is older than what the order
    already knows. Raises WebhookRefused(404) for an unknown tracking number."""
    latest_before = _latest(delivery.tracking_number)
    stored, duplicates, moved, order = 0, 0, [], None
    for item in sorted(delivery.events, key=lambda e: e["occurred_at"]):
        try:
            result = record_tracking_event(event=item)
        except WebhookRefused as exc:
            if exc.status != 409:
                raise
            duplicates += 1  # already received: a replay changes nothing
            continue
        stored += 1
        order = result.order
        if result.moved:
            moved.append(result.detail)
    order = _keep_estimate(delivery, latest_before, order)
    return Received(order=order, stored=stored, duplicates=duplicates, moved=moved)


def _latest(tracking_number):
    return (
        TrackingEvent.objects.filter(order__tracking_number=tracking_number)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def _keep_estimate(delivery, latest_before, order):
    found = (
        Order.objects.filter(tracking_number=delivery.tracking_number)
        .exclude(status=Status.CLEAN_SWEPT)
        .order_by("-id")
        .first()
    )
    if found is None:
        raise WebhookRefused(404, f"Unknown tracking number {delivery.tracking_number}.")
    newest = max((e["occurred_at"] for e in delivery.events), default=None)
    stale = newest is not None and latest_before is not None and newest < latest_before
    if delivery.estimated_delivery and not stale:
        order_set_estimated_delivery(order=found, date=delivery.estimated_delivery)
    return Order.objects.get(pk=found.pk)


def order_set_estimated_delivery(*, order, date):
    """Tracking sources only: keep the carrier's estimated delivery date on the order (not a
    status: no transition or history)."""
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(estimated_delivery=date)
