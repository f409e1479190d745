"""Webhook endpoints, deliveries and attempts. Imported by orders/models/__init__.py."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..event_models import Event
from ..models import Merchant

ACTIVE = "active"
FAILING = "failing"
DISABLED = "disabled"
ENDPOINT_STATES = [(ACTIVE, "Active"), (FAILING, "Failing"), (DISABLED, "Disabled")]

# A delivery's state, not an order's or a payment's (though spelled like some): named once, here.
PENDING = "pending"
DELIVERED = "delivered"
GAVE_UP = "failed"
DELIVERY_STATES = [(PENDING, "Pending"), (DELIVERED, "Delivered"), (GAVE_UP, "Gave up")]


class WebhookEndpoint(models.Model):
    """A merchant's URL for events. The signing secret (`whsec_...`) is shown once; after a
    rotation the previous one also signs until `previous_secret_expires_at`."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, help_text="Empty: every event type.")
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    state = models.CharField(max_length=10, choices=ENDPOINT_STATES, default=ACTIVE)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["merchant", "state"], name="endpoint_merchant_state")]

    def __str__(self):
        return self.url

    def wants(self, event_type):
        return self.state != DISABLED and (not self.event_types or event_type in self.event_types)

    def signing_secrets(self, now=None):
        """The secrets that sign a message now: the current one, and the previous one for
        24 hours after a rotation."""
        now = now or timezone.now()
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and now < self.previous_secret_expires_at
        ):
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(models.Model):
    """One event (or test message) to one endpoint, with the exact body every attempt
    sends under the same `webhook-id`."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    msg_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40)
    body = models.TextField()
    state = models.CharField(max_length=10, choices=DELIVERY_STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(state=PENDING), name="delivery_due"
            ),
            models.Index(fields=["endpoint", "created_at"], name="delivery_endpoint_time"),
        ]

    def __str__(self):
        return f"{self.event_type} -> {self.endpoint_id} ({self.state})"

    @property
    def delivered(self):
        return self.state == DELIVERED

    @property
    def gave_up(self):
        return self.state == GAVE_UP


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response = models.TextField(blank=True, help_text="The first 1 KB of the response body.")
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"

    @property
    def ok(self):
        return self.status_code is not None and 200 <= self.status_code < 300
