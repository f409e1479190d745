"""The staff admin of reference data: merchants and members, facilities, products, stock
levels and ship-option mappings."""

from django.contrib import admin, messages

from .. import audit, staff
from ..forms import InventoryLevelForm, StockAdjustForm
from ..holds import order_stock_arrived
from ..models import (
    FulfillmentCenter,
    InventoryLevel,
    Membership,
    Merchant,
    Product,
    ShipOptionMapping,
)
from .common import RefusalsAsFormErrors, RefusalShown


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "role"]
    list_filter = ["role", "merchant"]
    list_select_related = ["user", "merchant"]
    raw_id_fields = ["user"]
    search_fields = ["user__username", "user__email", "merchant__name"]


@admin.register(FulfillmentCenter)
class FulfillmentCenterAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "country",
        "time_zone",
        "daily_cutoff",
        "handles_stock",
        "handles_print",
    ]
    search_fields = ["code", "name"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "merchant", "kind", "connected"]
    list_filter = ["kind", "connected", "merchant"]
    list_select_related = ["merchant"]
    search_fields = ["sku", "name"]


# --- stock ---------------------------------------------------------------------------------


class NewLevelForm(RefusalShown, InventoryLevelForm):
    pass


class AdjustForm(RefusalShown, StockAdjustForm):
    pass


@admin.register(InventoryLevel)
class InventoryLevelAdmin(RefusalsAsFormErrors, admin.ModelAdmin):
    """Stock levels. On hand changes by what arrives (received) or by a count, each applied
    as a difference in orders.staff.stock_adjust; reservations follow the orders."""

    list_display = ["product", "center", "on_hand", "reserved", "available"]
    list_filter = ["center", "product__merchant"]
    list_select_related = ["product", "center"]
    raw_id_fields = ["product"]
    search_fields = ["product__sku", "product__name"]
    actions = None  # a level with reservations must not disappear in a bulk delete

    @admin.display(description="available")
    def available(self, obj):
        return obj.available

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = AdjustForm if obj else NewLevelForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["center", "product", "on_hand"]
        return [
            "center",
            "product",
            "on_hand",
            "reserved",
            "available",
            "received",
            "counted",
            "shown_on_hand",
        ]

    def get_readonly_fields(self, request, obj=None):
        # Reservations are counted against this center and product: moving the row would
        # move them too. On hand changes by received / counted only.
        if obj is None:
            return []
        return ["center", "product", "on_hand", "reserved", "available"]

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.reserved and super().has_delete_permission(request, obj)

    def record_refusal(self, request, exc):
        level = InventoryLevel.objects.filter(pk=request.resolver_match.kwargs.get("object_id"))
        merchant = level.values_list("product__merchant_id", flat=True).first()
        if audit.is_audited(request.user):
            audit.record(
                "stock_adjust",
                by=request.user,
                merchant=merchant,
                outcome=audit.REFUSED,
                reason=exc.message,
            )

    def save_model(self, request, obj, form, change):
        """Through orders.staff: a new level, or the difference received / counted (never a
        new total over what happened meanwhile). Receiving stock re-reviews the orders held
        for it."""
        if not change:
            obj.pk = staff.stock_level_add(
                center=obj.center, product=obj.product, on_hand=obj.on_hand, by=request.user
            ).pk
            obj._state.adding = False
            delta = obj.on_hand
        else:
            data = form.cleaned_data
            saved = staff.stock_adjust(
                level=obj,
                by=request.user,
                delta=data["delta"],
                shown_on_hand=data["shown_on_hand"],
                what=data["what"],
            )
            obj.on_hand, obj.reserved = saved.on_hand, saved.reserved
            delta = data["delta"]
            self.message_user(
                request,
                f"{obj.product.sku} at {obj.center.code}: {data['what']}; on hand is now "
                f"{saved.on_hand}.",
                level=messages.SUCCESS,
            )
        if delta > 0:
            retried = order_stock_arrived(product=obj.product)
            if retried:
                numbers = ", ".join(o.number for o in retried[:10])
                more = f" and {len(retried) - 10} more" if len(retried) > 10 else ""
                self.message_user(
                    request,
                    f"Stock received: {len(retried)} held order(s) sent back to review "
                    f"({numbers}{more}).",
                    level=messages.SUCCESS,
                )


@admin.register(ShipOptionMapping)
class ShipOptionMappingAdmin(admin.ModelAdmin):
    list_display = ["store_option", "merchant", "carrier", "service"]
    list_filter = ["merchant", "carrier"]
    list_select_related = ["merchant"]
