"""The order, its lines and its kept status counts.

Every change of a status field is a named @transition in orders/models/machine.py, mixed into
Order. Saving an order that went through transitions has orders/effects.py write their effects
(history rows, stock, kept counts, outbox events), all in the save's own database transaction,
so a rolled-back or raced save leaves none of them.
"""

from decimal import Decimal

from django.db import models, transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django_fsm import (
    ConcurrentTransition,
    ConcurrentTransitionMixin,
    FSMField,
    post_transition,
)

from .. import search
from .. import statuses as st
from ..integrity import UndeletableModel
from ..statuses import Payment, Status
from . import queryset as rules
from .machine import OrderMachine
from .queryset import OrderQuerySet, is_listed
from .reference import FulfillmentCenter, Merchant, Product

ADDRESS_FIELDS = ["ship_name", "address1", "address2", "city", "region", "postal_code", "country"]


class InsufficientStock(Exception):
    """Raised inside an accept when a facility no longer has the stock it had."""


class Order(UndeletableModel, ConcurrentTransitionMixin, OrderMachine, models.Model):
    # No index of its own: every index in Meta starts with the merchant, and each index is
    # one more write on every status change.
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    number = models.CharField("order number", max_length=64)
    flow = models.CharField(max_length=10, choices=st.FLOW_CHOICES, default=st.STOCK)
    has_embroidery = models.BooleanField(default=False)

    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.EmailField(blank=True)
    customer_phone = models.CharField(max_length=40, blank=True)

    ship_name = models.CharField("recipient", max_length=200, blank=True)
    address1 = models.CharField("address line 1", max_length=200, blank=True)
    address2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / region", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")

    ship_option = models.CharField(max_length=100, blank=True, help_text="As the store sent it.")
    carrier = models.CharField(max_length=40, blank=True)
    service = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    center = models.ForeignKey(
        FulfillmentCenter, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )

    status = FSMField(
        default=Status.IMPORT_REVIEW, choices=st.STATUS_CHOICES, protected=True, max_length=30
    )
    payment_status = FSMField(
        default=Payment.PENDING, choices=st.PAYMENT_STATUSES, protected=True, max_length=30
    )
    hold_reason = models.CharField(
        max_length=30, choices=st.HOLD_REASON_CHOICES, blank=True, default=""
    )
    hold_note = models.TextField(blank=True)
    # What exactly the failing check found (orders/holds.py describes it in words): which SKU,
    # quantities, address field, ship option, the processor's reason. Null when not held.
    hold_detail = models.JSONField(null=True, blank=True, editable=False)
    failure_reason = models.TextField(blank=True)

    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")

    needs_approval = models.BooleanField(
        default=False, help_text="Review holds it for manual approval until staff approve."
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    stock_reserved = models.BooleanField(default=False, editable=False)

    created_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    ship_by = models.DateTimeField(null=True, blank=True)
    # The point of no return (docs/deadlines.md), estimated when the order is accepted: the
    # Closing soon view reads it. Null until accepted.
    no_return_by = models.DateTimeField(null=True, blank=True, editable=False)
    reimport_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reimports"
    )
    # Folded text of the searched fields, lines' SKUs and notes (orders/search.py). Nullable:
    # a column with a default would make SQLite rebuild the table and drop the raw indexes.
    search_text = models.TextField(null=True, blank=True, editable=False)
    # The carrier's own estimate, when a tracking source sends one (nullable: adding it does
    # not rebuild the table on SQLite, which would drop the raw-SQL search indexes).
    estimated_delivery = models.DateField(null=True, blank=True, editable=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "number"],
                condition=~Q(status=Status.CLEAN_SWEPT),
                name="one_live_order_per_number",
            ),
            models.CheckConstraint(
                condition=(Q(status=Status.ACTION_REQUIRED) & ~Q(hold_reason=""))
                | (~Q(status=Status.ACTION_REQUIRED) & Q(hold_reason="")),
                name="hold_reason_exactly_when_on_hold",
            ),
        ]
        # The dashboard list reads one merchant's orders in a sort order, 50 at a time from a
        # cursor: each sort (and each status tab in the default sort) has an index that ends
        # in the sort's tie-breaker, id. Search indexes on lower(...) are created in
        # migration 0005_list_indexes, per database (PostgreSQL needs text_pattern_ops).
        indexes = [
            models.Index(
                fields=["merchant", "status", "created_at", "id"], name="order_merchant_status"
            ),
            # Status is carried along so that a search walking this index for a SKU's orders
            # (filters.InIds) can skip clean-swept rows without reading the table.
            models.Index(
                fields=["merchant", "created_at", "id", "status"], name="order_merchant_created"
            ),
            # The order page finds its order by number, clean-swept rows included.
            models.Index(fields=["merchant", "number", "id"], name="order_merchant_number"),
            models.Index(
                fields=["merchant", "status_changed_at", "id"], name="order_merchant_changed"
            ),
            models.Index(
                fields=["merchant", "hold_reason", "created_at", "id"],
                condition=Q(status=Status.ACTION_REQUIRED),
                name="order_merchant_hold",
            ),
            # Stuck in review (counted for "Waiting on us" on every list page): the few orders
            # in review, by how long they have been there, read without the table.
            models.Index(
                fields=["merchant", "status_changed_at", "id"],
                condition=Q(status=Status.IMPORT_REVIEW),
                name="order_merchant_in_review",
            ),
            # The carrier webhook finds its order by tracking number.
            models.Index(fields=["tracking_number"], name="order_tracking_number"),
            # Closing soon: one merchant's accepted orders by their point of no return.
            models.Index(
                fields=["merchant", "no_return_by", "id"],
                condition=Q(no_return_by__isnull=False),
                name="order_merchant_no_return",
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def state_fields(self):
        """The two FSM fields, for ConcurrentTransitionMixin's guard. Its own version looks
        them up among all fields several times per save and per instance; imports and
        review create and save thousands."""
        return _STATE_FIELDS

    # -- reading ----------------------------------------------------------------------------

    @property
    def state(self):
        return st.state(self.status)

    @property
    def group(self):
        return st.group_of(self.status)

    @property
    def hold_info(self):
        return st.hold_reason(self.hold_reason)

    @property
    def owner_label(self):
        """ "Waiting on you / us / your customer" while held (or failed, or a delivery
        exception); "" otherwise."""
        owner = rules.owner_of(self.status, self.hold_reason)
        return st.OWNER_LABELS[owner] if owner else ""

    @property
    def sub_status_label(self):
        """The second level the dashboard shows: the hold reason while on hold."""
        if self.status == Status.ACTION_REQUIRED and self.hold_info:
            return self.hold_info.label
        return self.state.label

    # The flags' rules live in orders/models/queryset.py, beside their queryset forms.

    def is_stuck(self, now=None):
        return rules.is_stuck(self.status, self.status_changed_at, now or timezone.now())

    def is_late(self, now=None):
        return rules.is_late(self.status, self.ship_by, now or timezone.now())

    def needs_attention(self, now=None):
        now = now or timezone.now()
        return rules.needs_attention(self.status, self.status_changed_at, self.ship_by, now)

    def closing_soon(self, now=None):
        """The time left before the point of no return when it is within two hours, else
        None."""
        return rules.closing_soon_left(self.status, self.no_return_by, now or timezone.now())

    @property
    def address_lines(self):
        """The address as a label would print it: "City, ST 12345" where a region is part of
        the address (US, CA, AU), "12345 City" elsewhere."""
        if self.region:
            region_postal = " ".join(p for p in [self.region, self.postal_code] if p)
            locality = ", ".join(p for p in [self.city, region_postal] if p)
        else:
            locality = " ".join(p for p in [self.postal_code, self.city] if p)
        parts = [self.ship_name, self.address1, self.address2, locality, self.country]
        return [p for p in parts if p]

    def address_dict(self):
        return {name: getattr(self, name) for name in ADDRESS_FIELDS}

    @property
    def address_editable(self):
        """Addresses may be edited exactly while the order can still be cancelled."""
        return self.status in st.CANCELLABLE

    @property
    def address_changeable(self):
        """An address edit (while editable) or, after that, a change request: anything but a
        final order (delivered, returned, cancelled, clean swept)."""
        return self.status not in st.FINAL_STATES

    @property
    def refundable_amount(self):
        return self.total - self.refunded_amount

    # -- history bookkeeping ----------------------------------------------------------------

    def act_as(self, by, reason=""):
        """Name who is changing this order (a user or a system name) for its history rows."""
        self._actor = by
        self._reason = reason
        return self

    # -- kept status counts -----------------------------------------------------------------
    # StatusCount holds how many orders each merchant has per (status, hold_reason). save()
    # moves this order's unit from the key it was loaded with to the key it is saved with,
    # in the save's own transaction. The UPDATE of a loaded order is conditional on that
    # loaded key (status by ConcurrentTransitionMixin, merchant and hold_reason below), so a
    # concurrent change makes this save fail instead of counting from a stale key.

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._remember_count_key()
        return instance

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._remember_count_key()

    def _remember_count_key(self):
        loaded = self.__dict__
        self._search_key = tuple(loaded.get(name) for name in search.SEARCHED_FIELDS)
        if all(name in loaded for name in ("merchant_id", "status", "hold_reason")):
            self._count_key = (loaded["merchant_id"], loaded["status"], loaded["hold_reason"])
        else:
            self._count_key = None  # a deferred field: save() reads the row instead

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update, **kw):
        key = self.__dict__.get("_count_key")
        if key is None:
            return super()._do_update(
                base_qs, using, pk_val, values, update_fields, forced_update, **kw
            )
        guarded = base_qs.filter(merchant_id=key[0], hold_reason=key[2])
        updated = super()._do_update(
            guarded, using, pk_val, values, update_fields, forced_update, **kw
        )
        if not updated and base_qs.filter(pk=pk_val).using(using).exists():
            raise ConcurrentTransition(
                "Cannot save the order: its merchant or hold reason changed since it was read."
            )
        return updated

    def _count_move(self, adding, update_fields):
        """(old key or None, new key) for the counts, or None when the save cannot move it."""
        new = (self.merchant_id, self.status, self.hold_reason)
        if adding:
            return None, new
        old = self.__dict__.get("_count_key")
        if old is None:
            old = (
                Order.objects.select_for_update()
                .filter(pk=self.pk)
                .values_list("merchant_id", "status", "hold_reason")
                .first()
            )
            self._count_key = old
        if update_fields is not None:
            saved = set(update_fields)
            new = tuple(
                value if name in saved or f"{name}_id" in saved else previous
                for name, value, previous in zip(
                    ("merchant", "status", "hold_reason"), new, old, strict=True
                )
            )
        return (old, new) if old != new else None

    def save(self, *args, **kwargs):
        """Write the order and, in the same transaction, the effects of the transitions
        applied to it since it was read (orders/effects.py: stock, counts, history,
        events, review request)."""
        from .. import effects

        pending = self.__dict__.get("_pending_changes") or []
        adding = self._state.adding
        with transaction.atomic():
            if pending:
                effects.apply_stock(self, pending)
            move = self._count_move(adding, kwargs.get("update_fields"))
            super().save(*args, **kwargs)
            if move:
                self._count_key = move[1]
            effects.record_save(self, pending, move)
            searched = tuple(self.__dict__.get(name) for name in search.SEARCHED_FIELDS)
            if searched != self.__dict__.get("_search_key"):
                if adding and self.search_text is not None:
                    search.mirror({self.pk: self.search_text})  # its creator wrote the text
                else:
                    search.reindex([self.pk])  # a searched field changed (or a new order)
                self._search_key = searched
        self._pending_changes = []

    def save_in_chunk(self, fields):
        """Write `fields` after a transition whose history rows, stock effects and kept
        counts the caller writes for a whole chunk of orders (review, orders/review.py; bulk
        actions, orders/bulk.py, both through orders/effects.py). The row is still only
        written if it is in the state it was read in (ConcurrentTransition)."""
        if self.__dict__.get("_pending_changes"):
            raise ValueError("save_in_chunk: the caller must take the pending history first")
        super().save(update_fields=fields)
        self._remember_count_key()


_STATE_FIELDS = (Order._meta.get_field("status"), Order._meta.get_field("payment_status"))


@receiver(post_transition)
def _remember_transition(sender, instance, name, source, target, **kwargs):
    """Collect each transition on the instance; Order.save() writes them as history."""
    if not isinstance(instance, Order):
        return
    field = kwargs.get("field")
    field_name = getattr(field, "name", field)
    instance.__dict__.setdefault("_pending_changes", []).append((field_name, name, source, target))
    if field_name == "status":
        instance.status_changed_at = timezone.now()
        if target != Status.ACTION_REQUIRED:
            instance.hold_reason = ""
            instance.hold_note = ""
            instance.hold_detail = None


class StatusCount(models.Model):
    """How many orders a merchant has in one (status, hold_reason): the dashboard's tab and
    chip numbers without counting a million rows. Kept exact by Order.save() (and by bulk
    importers through orders.counts.add_counts) in the same transaction as the change;
    `rebuild_status_counts` recomputes it from the orders."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=30)
    hold_reason = models.CharField(max_length=30, blank=True, default="")
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "status", "hold_reason"], name="one_count_per_key"
            )
        ]

    def __str__(self):
        return f"{self.merchant_id} {self.status} {self.hold_reason}: {self.n}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="order_lines"
    )
    sku = models.CharField(max_length=64, help_text="As the store sent it.")
    name = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    personalization = models.TextField(blank=True)
    personalization_complete = models.BooleanField(default=True)
    # Copies of the order's merchant, creation time and visibility (not clean swept), so a
    # SKU search reads one merchant's orders of that SKU newest first from one index
    # (orderline_merchant_sku, migration 0009) like every other term. Set when the line is
    # created; `listed` changes with the order's clean sweep (Order.save()).
    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.PROTECT,
        null=True,
        editable=False,
        db_index=False,
        related_name="+",
    )
    order_created_at = models.DateTimeField(null=True, editable=False)
    listed = models.BooleanField(default=True, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.quantity} x {self.sku}"

    def save(self, *args, **kwargs):
        if self.merchant_id is None or self.order_created_at is None:
            self.copy_order(self.order)
        super().save(*args, **kwargs)

    def copy_order(self, order):
        """Take the order's copies (see above); bulk writers call this for each line."""
        self.merchant_id = order.merchant_id
        self.order_created_at = order.created_at
        self.listed = is_listed(order.status)
        return self
