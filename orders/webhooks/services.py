"""What a merchant manager does with webhook endpoints: add, change, rotate the secret,
delete, send a test message, resend a delivery. Called by the settings pages and the API."""

import base64
import datetime
import secrets

from django.db import transaction
from django.utils import timezone

from .. import events as ev
from ..event_models import new_uid
from .models import ACTIVE, DISABLED, PENDING, WebhookDelivery, WebhookEndpoint
from .sending import AddressRefused, check_url, webhook_body

ROTATION_OVERLAP = datetime.timedelta(hours=24)
MAX_ENDPOINTS = 20


class EndpointRefused(Exception):
    def __init__(self, message, field="url"):
        super().__init__(message)
        self.message = message
        self.field = field


def new_secret():
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def clean_event_types(types):
    types = [str(t) for t in (types or [])]
    unknown = [t for t in types if t not in ev.TYPE_NAMES]
    if unknown:
        raise EndpointRefused(f"Unknown event type: {', '.join(unknown)}.", field="event_types")
    return sorted(set(types), key=ev.TYPE_NAMES.index)


def clean_url(url):
    url = str(url or "").strip()
    if not url or len(url) > 500 or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise EndpointRefused("Enter a URL of at most 500 characters, without spaces.")
    try:
        check_url(url)
    except AddressRefused as exc:
        raise EndpointRefused(str(exc)) from None
    return url


def endpoint_create(*, merchant, url, event_types=(), description=""):
    """Manager: register an endpoint. Returns (endpoint, secret); the secret is shown once."""
    url = clean_url(url)
    types = clean_event_types(event_types)
    if WebhookEndpoint.objects.filter(merchant=merchant).count() >= MAX_ENDPOINTS:
        raise EndpointRefused(f"At most {MAX_ENDPOINTS} endpoints per merchant.")
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(
        merchant=merchant,
        url=url,
        event_types=types,
        description=str(description or "")[:200],
        secret=secret,
    )
    return endpoint, secret


def endpoint_update(*, endpoint, url=None, event_types=None, enabled=None):
    fields = []
    if url is not None:
        endpoint.url = clean_url(url)
        fields.append("url")
    if event_types is not None:
        endpoint.event_types = clean_event_types(event_types)
        fields.append("event_types")
    if enabled is not None:
        endpoint.state = ACTIVE if enabled else DISABLED
        endpoint.failing_since = None
        fields += ["state", "failing_since"]
    endpoint.save(update_fields=fields)
    return endpoint


def endpoint_rotate_secret(*, endpoint, now=None):
    """A new secret, shown once; the old one keeps signing (beside the new) for 24 hours."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = now + ROTATION_OVERLAP
        locked.secret = new_secret()
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return locked, locked.secret


def endpoint_send_test(*, endpoint, now=None):
    """Queue a `webhook.test` message to this endpoint only (not an order event)."""
    now = now or timezone.now()
    data = {
        "version": ev.PAYLOAD_VERSION,
        "type": ev.TEST,
        "message": "A test message from your fulfillment dashboard.",
        "endpoint": endpoint.url,
    }
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        msg_id=f"msg_{new_uid()}",
        event_type=ev.TEST,
        body=webhook_body(ev.TEST, now, data),
        created_at=now,
        next_attempt_at=now,
    )
    transaction.on_commit(_schedule)
    return delivery


def delivery_resend(*, delivery, now=None):
    """Send a delivery again, now: the same message (same `webhook-id` and body), with a
    fresh 24-hour retry window."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=PENDING, next_attempt_at=now, created_at=now
    )
    transaction.on_commit(_schedule)
    return WebhookDelivery.objects.get(pk=delivery.pk)


def _schedule():
    from ..notify_tasks import schedule_deliveries

    schedule_deliveries()
