"""Reference data: merchants and who works for them, facilities, products, stock levels and
ship-option mappings."""

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .. import statuses as st

# --- who may trigger a transition ----------------------------------------------------------

VIEWER = "viewer"
MANAGER = "manager"
ROLE_CHOICES = [(VIEWER, "Viewer (read only)"), (MANAGER, "Manager")]


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


def manages(user, merchant_id):
    """Is `user` a manager of this merchant? Who may change its orders, products and
    settings (the merchant's actions; viewers only read)."""
    return merchant_roles(user).get(merchant_id) == MANAGER


def keep_merchant_roles(user, roles):
    """Hand merchant_roles() the roles a caller already read (with the memberships)."""
    user._merchant_roles = roles


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
