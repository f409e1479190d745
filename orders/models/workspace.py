"""Working together on orders: internal notes, saved list views and list preferences."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..integrity import AppendOnlyModel, AppendOnlyQuerySet
from .order import Order
from .reference import Merchant


class OrderNote(AppendOnlyModel, models.Model):
    """An internal note on an order: written by a merchant member (seen by their team and our
    staff) or by staff to the merchant (`from_operations`). Never sent anywhere else.
    Append-only: a note is never edited or deleted (orders/integrity.py)."""

    MAX_LENGTH = 2000

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    author_name = models.CharField(max_length=150)
    from_operations = models.BooleanField(default=False)
    text = models.TextField(max_length=MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "id"], name="note_order_latest")]

    def __str__(self):
        return f"{self.order}: {self.text[:40]}"

    @property
    def author_label(self):
        return f"{self.author_name} (from operations)" if self.from_operations else self.author_name


class SavedView(models.Model):
    """A named state of the order list (its query string), kept for its owner or shared
    with the owner's team (`shared`). Shown next to the smart views, in `position` order."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="saved_views")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=1000, blank=True)
    shared = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["merchant", "position", "id"], name="savedview_merchant")]

    def __str__(self):
        return self.name


class ListPreference(models.Model):
    """What a user chose for the order list: which optional columns it shows."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="list_preference"
    )
    columns = models.JSONField(default=list)

    def __str__(self):
        return f"{self.user}: {', '.join(self.columns)}"
