"""The outbox and what reads it: Event rows (written only by orders/effects.py), each
member's inbox marks, e-mail preferences and digest marks. Imported by orders/models/__init__.py."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .models import ImportBatch, Merchant, Order


def new_uid():
    return uuid.uuid4().hex


class Event(models.Model):
    """One change that matters to a merchant, written in the change's own transaction.

    `uid` is the Standard Webhooks message id (`webhook-id: msg_<uid>`) on every delivery
    and retry of this event. `dispatched_at` is set once the dispatcher has turned the event
    into deliveries and immediate e-mails; `mailed` once its immediate e-mails are done (an
    import's events wait for the import to finish, to go out as one summary)."""

    # No single-column indexes: event_merchant_id below starts with the merchant, and orders
    # and batches are never deleted nor looked up from here in a hot path.
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    type = models.CharField(max_length=40)
    uid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    mailed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        # Every index is one more write on every status change: the inbox reads a merchant's
        # events newest first (a kind filter walks the same index), the dispatcher and the
        # mailer read the few rows they have not handled yet.
        indexes = [
            models.Index(fields=["merchant", "id"], name="event_merchant_id"),
            models.Index(fields=["id"], condition=Q(dispatched_at=None), name="event_undispatched"),
            models.Index(fields=["id"], condition=Q(mailed=False), name="event_unmailed"),
        ]

    def __str__(self):
        return f"{self.type} {self.payload.get('number', '')}".strip()

    @property
    def msg_id(self):
        return f"msg_{uuid.UUID(str(self.uid)).hex}"

    @property
    def summary(self):
        """One line in the merchant's words: what happened to which order."""
        from .notify import summary

        return summary(self)


class InboxState(models.Model):
    """How far a member has read a merchant's events: every event up to `read_through`
    (marking all read moves it); single events read beyond it are EventRead rows."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    read_through = models.BigIntegerField(default=0)
    digest_through = models.BigIntegerField(null=True, blank=True)
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "merchant"], name="one_inbox_per_member")
        ]

    def __str__(self):
        return f"{self.user_id}@{self.merchant_id} read through {self.read_through}"


class EventRead(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="one_read_per_event")]

    def __str__(self):
        return f"{self.user_id} read {self.event_id}"


IMMEDIATELY = "immediately"
DIGEST = "digest"
NEVER = "never"
EMAIL_CHOICES = [(IMMEDIATELY, "Immediately"), (DIGEST, "Daily digest"), (NEVER, "Never")]


class EmailPreference(models.Model):
    """A member's choice for one event type; without a row the default applies
    (orders/notify.py, default_choice)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    choice = models.CharField(max_length=12, choices=EMAIL_CHOICES)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "merchant", "kind"], name="one_email_choice_per_kind"
            )
        ]

    def __str__(self):
        return f"{self.user_id}@{self.merchant_id} {self.kind}: {self.choice}"
