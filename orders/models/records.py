"""What happened to orders: status history, carrier tracking events, address changes and
the audit log. History and audit rows are append-only (orders/integrity.py)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .. import statuses as st
from ..audit import DONE, REFUSED
from ..integrity import AppendOnlyModel, AppendOnlyQuerySet
from .order import Order
from .reference import Merchant


class StatusChange(AppendOnlyModel, models.Model):
    """One row per transition of either status field. Append-only (orders/integrity.py)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    field = models.CharField(max_length=20)
    transition = models.CharField(max_length=40)
    source = models.CharField(max_length=30)
    target = models.CharField(max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    actor_name = models.CharField(max_length=150)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="history_order_time")]

    def __str__(self):
        return f"{self.order}: {self.source} -> {self.target} ({self.transition})"

    def label_of(self, value):
        if self.field == "status":
            return st.STATE_BY_VALUE[value].label if value in st.STATE_BY_VALUE else value
        return st.PAYMENT_LABELS.get(value, value)

    @property
    def source_label(self):
        return self.label_of(self.source) if self.source else "—"

    @property
    def target_label(self):
        return self.label_of(self.target)


class TrackingEvent(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tracking_events")
    event_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    code = models.CharField(max_length=40)
    description = models.CharField(max_length=300, blank=True)
    location = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["order", "occurred_at"], name="tracking_order_time")]

    def __str__(self):
        return f"{self.order} {self.code} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class AddressChange(models.Model):
    """An address edit (applied at once while the order can still be cancelled) or, once it
    is labelled or printed, a request that staff may or may not be able to honour."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="address_changes")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    address = models.JSONField()
    previous_address = models.JSONField(default=dict)
    applied = models.BooleanField(
        default=False, help_text="Applied to the order; otherwise requested, not guaranteed."
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        kind = "Address changed" if self.applied else "Address change requested"
        return f"{kind} for {self.order}"


# --- audit log -----------------------------------------------------------------------------

AUDIT_OUTCOMES = [(DONE, "Done"), (REFUSED, "Refused")]


class AuditEntry(AppendOnlyModel, models.Model):
    """Who tried to change which orders, from where, and what came of it: one row per
    attempted dashboard action, admin transition, API call or imported order, done or refused
    (with the reason). Written by orders/audit.py; never changed. StatusChange keeps what
    was applied; this keeps who asked, including what was refused."""

    created_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor = models.CharField(max_length=150, help_text="Username, or 'api: <token name>'.")
    merchant = models.ForeignKey(
        Merchant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    numbers = models.TextField("order numbers", blank=True, help_text="Space-separated.")
    outcome = models.CharField(max_length=10, choices=AUDIT_OUTCOMES)
    reason = models.TextField(blank=True)
    ip = models.GenericIPAddressField("client IP", null=True, blank=True)
    path = models.CharField(max_length=300, blank=True, help_text="Request path or batch.")
    detail = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="audit_merchant_time"),
            models.Index(fields=["action", "created_at"], name="audit_action_time"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.outcome}"
