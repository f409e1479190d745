"""The order domain: merchants, facilities, products, stock and orders with their two
protected state machines (`status` and `payment_status`).

Every change of a status field is a named @transition below. The transition's permission
callable says who may trigger it; its conditions say for which orders. Saving an order that
went through transitions has orders/effects.py write their effects (history rows, stock,
kept counts, outbox events), all in the save's own database transaction, so a rolled-back or
raced save leaves none of them.
"""

import datetime
import zoneinfo
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone
from django_fsm import (
    RETURN_VALUE,
    ConcurrentTransition,
    ConcurrentTransitionMixin,
    FSMField,
    post_transition,
    transition,
)

from . import search
from . import statuses as st
from .integrity import (
    AppendOnlyModel,
    AppendOnlyQuerySet,
    UndeletableModel,
    UndeletableQuerySet,
)

STUCK_AFTER = datetime.timedelta(minutes=10)
ADDRESS_FIELDS = ["ship_name", "address1", "address2", "city", "region", "postal_code", "country"]


class InsufficientStock(Exception):
    """Raised inside an accept when a facility no longer has the stock it had."""


# --- who may trigger a transition ----------------------------------------------------------

VIEWER = "viewer"
MANAGER = "manager"
ROLE_CHOICES = [(VIEWER, "Viewer (read only)"), (MANAGER, "Manager")]


def is_listed(status):
    """Is an order in this status in the dashboard's lists? Everything but clean-swept
    orders is (OrderQuerySet.visible() asks the same of the database)."""
    return status != "clean_swept"


def merchant_roles(user):
    """{merchant_id: role} for a user, loaded once and kept on the user object.

    The permission callables run once per transition checked; caching here keeps the query
    count of a page constant however many orders and transitions it looks at.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    roles = getattr(user, "_merchant_roles", None)
    if roles is None:
        roles = dict(Membership.objects.filter(user=user).values_list("merchant_id", "role"))
        user._merchant_roles = roles
    return roles


def keep_merchant_roles(user, roles):
    """Hand merchant_roles() the roles a caller already read (with the memberships)."""
    user._merchant_roles = roles


def is_merchant_manager(order, user):
    return bool(user and user.is_active) and merchant_roles(user).get(order.merchant_id) == MANAGER


def is_staff(order, user):
    return bool(user and user.is_active and user.is_staff)


def machines_only(order, user):
    """Review and carrier transitions: no person triggers them by hand."""
    return False


# --- reference data ------------------------------------------------------------------------


def validate_time_zone(value):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError("Unknown time zone.") from exc


class Merchant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The dashboard shows this merchant's times in their own zone (shown in the header).
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="e.g. Europe/Berlin",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=ROLE_CHOICES, default=VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "merchant"], name="one_membership_per_user")
        ]

    def __str__(self):
        return f"{self.user} @ {self.merchant} ({self.role})"


class FulfillmentCenter(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    time_zone = models.CharField(max_length=64, default="UTC")
    daily_cutoff = models.TimeField(
        default=datetime.time(14, 0),
        help_text="Stock orders accepted before this local time are due the same business day.",
    )
    production_lead_days = models.PositiveSmallIntegerField(
        default=2, help_text="Business days a print order needs before it can be labelled."
    )
    business_days = models.CharField(
        max_length=7,
        default="12345",
        help_text="ISO weekdays the facility works: 1 = Monday ... 7 = Sunday (12345 = Mon-Fri).",
    )
    handles_stock = models.BooleanField(default=True)
    handles_print = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} ({self.country})"

    def clean(self):
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError({"time_zone": "Unknown time zone."}) from exc
        days = set(self.business_days or "")
        if not days or not days <= set("1234567") or len(days) != len(self.business_days):
            raise ValidationError(
                {"business_days": "Write each working weekday once as a digit 1-7, e.g. 12345."}
            )

    @property
    def tz(self):
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return datetime.UTC

    def is_business_day(self, day):
        days = self.business_days or "12345"
        return str(day.isoweekday()) in days

    def next_business_day(self, day):
        for _ in range(7):
            day += datetime.timedelta(days=1)
            if self.is_business_day(day):
                return day
        return day  # no working day at all: clean() refuses that; never loop forever

    def labelling_day(self, accepted_at):
        """The local business day an order accepted at `accepted_at` is due: that day if it
        is a business day and before the cut-off, else the next business day."""
        local = accepted_at.astimezone(self.tz)
        day = local.date()
        if local.time() >= self.daily_cutoff or not self.is_business_day(day):
            day = self.next_business_day(day)
        return day

    def ship_by_for(self, flow, accepted_at, lead_days=None):
        """When an order accepted at `accepted_at` must be labelled: end of the business day
        it falls on (next business day after the cut-off), plus the lead time for print."""
        day = self.labelling_day(accepted_at)
        if flow == st.PRINT:
            for _ in range(self.production_lead_days if lead_days is None else lead_days):
                day = self.next_business_day(day)
        return datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=self.tz)

    def no_return_for(self, flow, accepted_at, lead_days=None):
        """The point of no return of an order accepted at `accepted_at` (docs/deadlines.md):
        stock, the cut-off of the day it is due to be labelled; print, the expected start of
        production, `lead_days` business days later at the same local time."""
        day = self.labelling_day(accepted_at)
        if flow == st.PRINT:
            for _ in range(self.production_lead_days if lead_days is None else lead_days):
                day = self.next_business_day(day)
        return datetime.datetime.combine(day, self.daily_cutoff, tzinfo=self.tz)


PRODUCT_KINDS = [
    ("stock", "Stock item"),
    ("print", "Print on demand"),
    ("embroidery", "Embroidery"),
]


class Product(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="products")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=PRODUCT_KINDS, default="stock")
    connected = models.BooleanField(
        default=True, help_text="Set up for fulfillment. Orders with unconnected products hold."
    )
    production_lead_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Print products: business days before production starts. Empty: the "
        "facility's lead time.",
    )
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The usual unit price, offered when an order is entered by hand.",
    )

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "sku"], name="one_sku_per_merchant")
        ]

    def __str__(self):
        return f"{self.sku} {self.name}"

    @property
    def flow(self):
        return st.STOCK if self.kind == "stock" else st.PRINT


class InventoryLevel(models.Model):
    center = models.ForeignKey(FulfillmentCenter, on_delete=models.CASCADE, related_name="stock")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock")
    on_hand = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0)
    restock_expected = models.DateField(
        null=True, blank=True, help_text="When more stock is expected, if known."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["center", "product"], name="one_level_per_center"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="reserved_within_on_hand"
            ),
        ]

    def __str__(self):
        return f"{self.product.sku} @ {self.center.code}: {self.on_hand} on hand"

    @property
    def available(self):
        return self.on_hand - self.reserved


class ShipOptionMapping(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="ship_options")
    store_option = models.CharField(max_length=100, help_text="As the store names it.")
    carrier = models.CharField(max_length=40)
    service = models.CharField(max_length=60)

    class Meta:
        ordering = ["store_option"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "store_option"], name="one_mapping_per_option"
            )
        ]

    def __str__(self):
        return f"{self.store_option} -> {self.carrier} {self.service}"


# --- orders --------------------------------------------------------------------------------


class OrderQuerySet(UndeletableQuerySet):
    def for_merchant(self, merchant):
        return self.filter(merchant=merchant)

    def visible(self):
        """What the dashboard lists by default: everything but clean-swept rows."""
        return self.exclude(status="clean_swept")

    def stuck(self, now=None):
        now = now or timezone.now()
        return self.filter(status="import_review", status_changed_at__lt=now - STUCK_AFTER)

    def late(self, now=None):
        now = now or timezone.now()
        return self.filter(status__in=LATE_CANDIDATES, ship_by__lt=now)

    def waiting_on(self, owner, now=None):
        """Orders whose next move is `owner`'s (statuses.YOU, US, CUSTOMER): held for a
        reason they own, plus for YOU failed orders and delivery exceptions, and for US
        orders stuck in review."""
        condition = Q(status="action_required", hold_reason__in=st.reasons_owned_by(owner))
        states = [s for s, o in st.STATE_OWNERS.items() if o == owner]
        if states:
            condition |= Q(status__in=states)
        if owner == st.US:
            now = now or timezone.now()
            condition |= Q(status="import_review", status_changed_at__lt=now - STUCK_AFTER)
        return self.filter(condition)

    def closing_soon(self, now=None):
        """Accepted orders whose point of no return (docs/deadlines.md) is within two hours."""
        from .deadlines import CLOSING_SOON, OPEN_ACCEPTED

        now = now or timezone.now()
        return self.filter(
            status__in=OPEN_ACCEPTED, no_return_by__gte=now, no_return_by__lte=now + CLOSING_SOON
        )

    def needing_attention(self, now=None):
        now = now or timezone.now()
        return self.filter(
            Q(status__in=["action_required", "delivery_exception", "failed"])
            | Q(status="import_review", status_changed_at__lt=now - STUCK_AFTER)
            | Q(status__in=LATE_CANDIDATES, ship_by__lt=now)
        )


# Accepted, not yet labelled: the orders a ship-by promise applies to.
LATE_CANDIDATES = [s for s in st.STATES_BY_GROUP["processing"] if s != "labeled"] + [
    "action_required"
]


class Order(UndeletableModel, ConcurrentTransitionMixin, models.Model):
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
        default="import_review", choices=st.STATUS_CHOICES, protected=True, max_length=30
    )
    payment_status = FSMField(
        default="pending", choices=st.PAYMENT_STATUSES, protected=True, max_length=30
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
                condition=~Q(status="clean_swept"),
                name="one_live_order_per_number",
            ),
            models.CheckConstraint(
                condition=(Q(status="action_required") & ~Q(hold_reason=""))
                | (~Q(status="action_required") & Q(hold_reason="")),
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
                condition=Q(status="action_required"),
                name="order_merchant_hold",
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
        if self.status == "action_required":
            return st.OWNER_LABELS[st.hold_owner(self.hold_reason)]
        owner = st.STATE_OWNERS.get(self.status)
        return st.OWNER_LABELS[owner] if owner else ""

    @property
    def sub_status_label(self):
        """The second level the dashboard shows: the hold reason while on hold."""
        if self.status == "action_required" and self.hold_info:
            return self.hold_info.label
        return self.state.label

    def is_stuck(self, now=None):
        now = now or timezone.now()
        return self.status == "import_review" and self.status_changed_at < now - STUCK_AFTER

    def is_late(self, now=None):
        now = now or timezone.now()
        return bool(self.ship_by and self.status in LATE_CANDIDATES and self.ship_by < now)

    def closing_soon(self, now=None):
        """The time left before the point of no return when it is within two hours
        (OrderQuerySet.closing_soon() asks the same of the database), else None."""
        from .deadlines import CLOSING_SOON, OPEN_ACCEPTED

        now = now or timezone.now()
        if self.no_return_by and self.status in OPEN_ACCEPTED:
            left = self.no_return_by - now
            if datetime.timedelta(0) <= left <= CLOSING_SOON:
                return left
        return None

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
        from . import effects

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

    def save_reviewed(self, fields):
        """Write `fields` after a transition whose history rows, stock effects and kept
        counts the caller writes for a whole chunk (review, orders/review.py). The row is
        still only written if it is in the state it was read in (ConcurrentTransition)."""
        if self.__dict__.get("_pending_changes"):
            raise ValueError("save_reviewed: the caller must take the pending history first")
        super().save(update_fields=fields)
        self._remember_count_key()

    # -- status transitions -----------------------------------------------------------------
    # Docstrings say who may call each; the permission argument enforces it for people, and
    # services check it before calling. Machines (review, carrier webhook) call them directly.

    def _is_stock(self):
        return self.flow == st.STOCK

    def _is_print(self):
        return self.flow == st.PRINT

    def _is_embroidery(self):
        return self.flow == st.PRINT and self.has_embroidery

    def _upload_ready(self):
        return self.flow == st.PRINT and (not self.has_embroidery or self.status == "digitizing")

    def _merchant_can_retry(self):
        return self.hold_reason in st.MERCHANT_RETRY_REASONS

    def _pending_approval(self):
        return self.hold_reason == "pending_approval"

    def _special_requirements(self):
        return self.hold_reason == "special_requirements"

    @transition(
        status,
        source="draft",
        target="import_review",
        permission=is_merchant_manager,
        custom={"label": "Submit", "admin": False},
    )
    def submit(self):
        """Merchant manager: send a draft to review."""

    @transition(
        status,
        source="import_review",
        target="processing",
        permission=machines_only,
        custom={"label": "Accept", "admin": False},
    )
    def accept(self, center, carrier="", service="", lead_days=None):
        """Review only: assign the facility, the carrier and service the ship option maps to,
        the ship-by time and the point of no return (`lead_days`: the print products' own
        production lead time, if longer than the facility's); stock is reserved on save."""
        self.center = center
        if carrier:
            self.carrier = carrier
            self.service = service
        now = timezone.now()
        self.ship_by = center.ship_by_for(self.flow, now, lead_days)
        self.no_return_by = center.no_return_for(self.flow, now, lead_days)

    @transition(
        status,
        source=st.HOLDABLE,
        target="action_required",
        permission=is_staff,
        custom={"label": "Hold", "form": "orders.forms.HoldForm"},
    )
    def hold(self, reason, note="", detail=None):
        """Review or staff: block fulfillment for one of the SPEC's hold reasons. `detail` is
        what the failing check found (orders/holds.py says what each reason keeps)."""
        if reason not in st.HOLD_BY_VALUE:
            raise ValueError(f"Unknown hold reason {reason!r}")
        self.hold_reason = reason
        self.hold_note = note
        self.hold_detail = detail or None

    @transition(
        status,
        source="action_required",
        target="import_review",
        conditions=[_merchant_can_retry],
        permission=is_merchant_manager,
        custom={"label": "Retry", "admin": False},
    )
    def retry(self):
        """Merchant manager (or the system when stock arrives): back to review."""

    @transition(
        status,
        source="action_required",
        target="import_review",
        conditions=[_pending_approval],
        permission=is_staff,
        custom={"label": "Approve"},
    )
    def approve(self):
        """Staff: an order pending approval is approved and goes back to review."""
        self.approved_at = timezone.now()

    @transition(
        status,
        source="action_required",
        target="import_review",
        conditions=[_special_requirements],
        permission=is_staff,
        custom={"label": "Release"},
    )
    def release(self):
        """Staff: special requirements are clarified; back to review."""

    @transition(
        status,
        source="action_required",
        target="cancelled",
        conditions=[_pending_approval],
        permission=is_staff,
        custom={"label": "Decline"},
    )
    def decline(self):
        """Staff: an order pending approval is declined and cancelled."""
        self._settle_payment_on_cancel()

    @transition(
        status,
        source="processing",
        target="pick_in_process",
        conditions=[_is_stock],
        permission=is_staff,
        custom={"label": "Start pick"},
    )
    def start_pick(self):
        """Staff (stock flow): the warehouse starts picking."""

    @transition(
        status,
        source="pick_in_process",
        target="picked",
        permission=is_staff,
        custom={"label": "Finish pick"},
    )
    def finish_pick(self):
        """Staff (stock flow): picking is done."""

    @transition(
        status,
        source="processing",
        target="digitizing",
        conditions=[_is_embroidery],
        permission=is_staff,
        custom={"label": "Start digitizing"},
    )
    def start_digitizing(self):
        """Staff (embroidery): the design goes to digitizing."""

    @transition(
        status,
        source=["processing", "digitizing"],
        target="uploading",
        conditions=[_upload_ready],
        permission=is_staff,
        custom={"label": "Start upload"},
    )
    def start_upload(self):
        """Staff (print): artwork goes to the production partner; embroidery digitizes first."""

    @transition(
        status,
        source="uploading",
        target="passed",
        permission=is_staff,
        custom={"label": "Pass file check"},
    )
    def pass_file(self):
        """Staff (print): the artwork passed inspection."""

    @transition(
        status,
        source="passed",
        target="in_production",
        permission=is_staff,
        custom={"label": "Start production"},
    )
    def start_production(self):
        """Staff (print): production starts."""

    @transition(
        status,
        source="in_production",
        target="printed",
        permission=is_staff,
        custom={"label": "Finish production"},
    )
    def finish_production(self):
        """Staff (print): made; from here it can no longer be cancelled."""

    @transition(
        status,
        source=st.FAILABLE,
        target="failed",
        permission=is_staff,
        custom={"label": "Fail", "form": "orders.forms.FailForm"},
    )
    def fail(self, reason):
        """Review or staff: the order cannot be recovered; the reason is shown to the merchant."""
        if not str(reason).strip():
            raise ValueError("A failure needs a reason the merchant can read.")
        self.failure_reason = str(reason).strip()

    @transition(
        status,
        source=["picked", "printed"],
        target="labeled",
        permission=is_staff,
        custom={"label": "Pack and label"},
    )
    def pack_and_label(self):
        """Staff: packed and labelled, waiting for the carrier."""

    @transition(
        status,
        source="labeled",
        target="shipped",
        permission=is_staff,
        custom={"label": "Hand over to carrier", "form": "orders.forms.HandOverForm"},
    )
    def hand_over(self, carrier, tracking_number, service=""):
        """Staff: handed to the carrier; needs the carrier and a tracking number. Stock is
        consumed on save."""
        if not str(carrier).strip() or not str(tracking_number).strip():
            raise ValueError("Hand-over needs a carrier and a tracking number.")
        values = {
            "carrier": str(carrier).strip(),
            "service": str(service or self.service).strip(),
            "tracking_number": str(tracking_number).strip(),
        }
        # Checked here, not only in the admin's forms: PostgreSQL refuses what does not fit.
        for name, value in values.items():
            limit = self._meta.get_field(name).max_length
            if len(value) > limit or "\x00" in value:
                raise ValueError(
                    f"The {name.replace('_', ' ')} must be text of at most {limit} characters."
                )
            setattr(self, name, value)

    @transition(
        status,
        source=["shipped", "delivery_exception"],
        target="in_transit",
        permission=machines_only,
        custom={"label": "Carrier scan"},
    )
    def scan(self):
        """Carrier webhook: first (or renewed) scan."""

    @transition(
        status,
        source=["shipped", "in_transit", "delivery_exception"],
        target="out_for_delivery",
        permission=machines_only,
        custom={"label": "Out for delivery"},
    )
    def out_for_delivery(self):
        """Carrier webhook: on the delivery vehicle."""

    @transition(
        status,
        source=["shipped", "in_transit", "out_for_delivery", "delivery_exception"],
        target="delivered",
        permission=machines_only,
        custom={"label": "Delivered"},
    )
    def deliver(self):
        """Carrier webhook: delivered (final)."""

    @transition(
        status,
        source=["shipped", "in_transit", "out_for_delivery"],
        target="delivery_exception",
        permission=machines_only,
        custom={"label": "Delivery exception"},
    )
    def exception(self):
        """Carrier webhook: the carrier could not deliver."""

    @transition(
        status,
        source=["shipped", "in_transit", "out_for_delivery", "delivery_exception"],
        target="returned",
        permission=machines_only,
        custom={"label": "Returned to sender"},
    )
    def return_to_sender(self):
        """Carrier webhook: came back to the sender (final)."""

    @transition(
        status,
        source=st.CANCELLABLE,
        target="cancelled",
        permission=is_merchant_manager,
        custom={"label": "Cancel", "admin": False},
    )
    def cancel(self):
        """Merchant manager: stop the order. A pending or refused payment is cancelled and a
        paid one fully refunded; reserved stock is released on save."""
        self._settle_payment_on_cancel()

    @transition(
        status,
        source=st.CLEAN_SWEEPABLE,
        target="clean_swept",
        permission=is_merchant_manager,
        custom={"label": "Clean sweep", "admin": False},
    )
    def clean_sweep(self):
        """Merchant manager: remove without cancelling so the number can be imported again."""

    def _settle_payment_on_cancel(self):
        if self.payment_status in ("pending", "refused"):
            self.cancel_payment()
        elif self.payment_status in ("paid", "partially_refunded"):
            # SPEC: a paid order is fully refunded; a free one (nothing charged) is refunded
            # with 0, so a cancelled or declined order never still reads "Paid".
            self.refund(self.refundable_amount)

    # -- payment transitions ----------------------------------------------------------------

    @transition(
        payment_status,
        source=["pending", "refused"],
        target="paid",
        permission=is_staff,
        custom={"label": "Mark paid"},
    )
    def mark_paid(self):
        """Staff or the payment system: the payment succeeded. An order held for a refused
        payment goes back to review."""
        if self.status == "action_required" and self.hold_reason == "payment_refused":
            self.retry()

    @transition(
        payment_status,
        source="pending",
        target="refused",
        permission=is_staff,
        custom={"label": "Mark refused"},
    )
    def refuse_payment(self, reason=""):
        """Staff or the payment system: the payment was refused (`reason`: the processor's
        words, when it gave any); a live order is held."""
        if self.status in st.HOLDABLE:
            reason = str(reason or "").strip()[:300]
            self.hold("payment_refused", detail={"processor_reason": reason} if reason else None)

    @transition(
        payment_status,
        source=["pending", "refused"],
        target="canceled",
        permission=machines_only,
        custom={"label": "Cancel payment", "admin": False},
    )
    def cancel_payment(self):
        """Only through cancelling or declining the order."""

    @transition(
        payment_status,
        source=["paid", "partially_refunded"],
        target=RETURN_VALUE("partially_refunded", "refunded"),
        permission=is_staff,
        custom={"label": "Refund", "form": "orders.forms.RefundForm"},
    )
    def refund(self, amount):
        """Staff (or cancelling a paid order): refund part or all of what is left."""
        try:
            amount = Decimal(str(amount))
        except InvalidOperation:
            raise ValueError("A refund amount must be a number.") from None
        if not amount.is_finite() or amount < 0 or (amount == 0 and self.refundable_amount > 0):
            # 0 only settles a free order, where nothing was charged.
            raise ValueError("A refund must be a positive amount.")
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError("A refund amount has at most two decimal places.")
        if amount > self.refundable_amount:
            raise ValueError(f"At most {self.refundable_amount} {self.currency} can be refunded.")
        self.refunded_amount += amount
        return "refunded" if self.refunded_amount >= self.total else "partially_refunded"


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
        if target != "action_required":
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


# --- intake: import batches and API tokens -------------------------------------------------

IMPORT_SOURCES = [
    ("csv", "CSV upload"),
    ("command", "Command line"),
    ("api", "API"),
    ("manual", "Entered by hand"),
]
BATCH_STATES = [
    ("queued", "Queued"),
    ("running", "Running"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("mapping", "Waiting for its column mapping"),
]
ROW_OUTCOMES = [
    ("created", "Created"),
    ("reimported", "Reimported"),
    ("skipped", "Skipped"),
    ("refused", "Refused: cancelled, not reimported"),
    ("error", "Error"),
    ("note", "Note"),
]
# How an uploaded file's rows are read (orders/formats/): our template's columns, a store's
# own export, or the merchant's saved column mapping.
FILE_KINDS = [
    ("template", "our template"),
    ("shopify", "a Shopify orders export"),
    ("mapped", "a column mapping"),
]


class ImportBatch(models.Model):
    """One upload (or command run) of orders, with its per-row report in ImportRow.

    The file's text is kept so a worker can process it after the request returned, and so
    support can see exactly what was sent.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="import_batches")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    source = models.CharField(max_length=10, choices=IMPORT_SOURCES, default="csv")
    filename = models.CharField(max_length=255, blank=True)
    content = models.TextField(blank=True)
    kind = models.CharField("read as", max_length=10, choices=FILE_KINDS, default="template")
    mapping = models.ForeignKey(
        "ColumnMapping", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=10, choices=BATCH_STATES, default="queued")
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    orders_to_review = models.PositiveIntegerField(default=0)
    orders_reviewed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    reimported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"
        indexes = [models.Index(fields=["merchant", "created_at"], name="batch_merchant_created")]

    def __str__(self):
        return f"Import {self.pk} ({self.filename or self.get_source_display()})"

    @property
    def finished(self):
        return self.state in ("done", "failed")

    @property
    def read_as(self):
        """How the file was read, for the report: "read as a Shopify orders export"."""
        if self.kind == "mapped" and self.mapping_id:
            return f"read through the column mapping “{self.mapping.name}”"
        return f"read as {self.get_kind_display()}"

    @property
    def percent(self):
        """Import and review each count for half of the progress bar."""
        if self.finished:
            return 100
        imported = self.processed_rows / self.total_rows if self.total_rows else 0
        reviewed = self.orders_reviewed / self.orders_to_review if self.orders_to_review else 0
        return int(50 * imported + 50 * reviewed)


class ImportRow(models.Model):
    """What happened to one order of a batch: `row` is the (first) file row it came from, or
    the row an error was found on."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows")
    row = models.PositiveIntegerField()
    number = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=ROW_OUTCOMES)
    field = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    earlier = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The clean-swept row a reimport links to, or the order that blocked it.",
    )

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["batch", "outcome"], name="importrow_batch_outcome")]

    def __str__(self):
        return f"row {self.row} {self.number}: {self.outcome}"


class ColumnMapping(models.Model):
    """A merchant's answer to "which of this file's columns is which of our fields", kept for
    files with the same headers (`signature`) and usable by name from the API and command."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="mappings")
    name = models.CharField(max_length=100)
    headers = models.JSONField(default=list, help_text="The file's column names, in order.")
    signature = models.CharField(max_length=64, editable=False)
    columns = models.JSONField(default=dict, help_text="Our field -> the file's column.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["merchant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="mapping_unique_name"),
            models.UniqueConstraint(
                fields=["merchant", "signature"], name="mapping_unique_headers"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.merchant})"


class ApiToken(models.Model):
    """A merchant's bearer token for the JSON API. Only a SHA-256 of the token is stored; the
    token itself is shown once when it is created."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="Which integration uses it, e.g. Shopify.")
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["merchant", "name"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.prefix}…) for {self.merchant}"

    @property
    def active(self):
        return self.revoked_at is None


# --- audit log -----------------------------------------------------------------------------

AUDIT_OUTCOMES = [("done", "Done"), ("refused", "Refused")]


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


# --- working together on orders ----------------------------------------------------------------


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


# The outbox and merchant notifications live in their own modules (issue 13).
from .event_models import EmailPreference, Event, EventRead, InboxState  # noqa: E402,F401
from .webhooks.models import (  # noqa: E402,F401
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
