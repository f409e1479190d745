"""The operations staff's workplace. Status fields are read-only; they change only through the
transition buttons, which go through the same service as every other caller (row lock,
permission check, history)."""

from django.contrib import admin, messages
from django_fsm.admin import FSMAdminMixin

from .holds import order_stock_arrived
from .models import (
    AddressChange,
    ApiToken,
    FulfillmentCenter,
    ImportBatch,
    ImportRow,
    InventoryLevel,
    Membership,
    Merchant,
    Order,
    OrderLine,
    Product,
    ShipOptionMapping,
    StatusChange,
    TrackingEvent,
)
from .services import ActionRefused, order_transition
from .tokens import token_create, token_revoke


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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


@admin.register(InventoryLevel)
class InventoryLevelAdmin(admin.ModelAdmin):
    list_display = ["product", "center", "on_hand", "reserved", "available"]
    list_filter = ["center", "product__merchant"]
    list_select_related = ["product", "center"]
    raw_id_fields = ["product"]
    search_fields = ["product__sku", "product__name"]
    readonly_fields = ["reserved"]  # reservations follow the orders, never typed in

    @admin.display(description="available")
    def available(self, obj):
        return obj.available

    def save_model(self, request, obj, form, change):
        """Receiving stock (more on hand, or a new level) re-reviews the orders held for it."""
        before = InventoryLevel.objects.filter(pk=obj.pk).values_list("on_hand", flat=True)
        previous = before.first() if change else 0
        super().save_model(request, obj, form, change)
        if obj.on_hand > (previous or 0):
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


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product"]
    fields = [
        "sku",
        "name",
        "product",
        "quantity",
        "unit_price",
        "personalization",
        "personalization_complete",
    ]


class StatusChangeInline(ReadOnlyInline):
    model = StatusChange
    fields = ["created_at", "field", "transition", "source", "target", "actor_name", "reason"]
    readonly_fields = fields
    verbose_name_plural = "History"


class TrackingEventInline(ReadOnlyInline):
    model = TrackingEvent
    fields = ["occurred_at", "code", "description", "location", "event_id"]
    readonly_fields = fields


class AddressChangeInline(ReadOnlyInline):
    model = AddressChange
    fields = ["created_at", "applied", "address", "previous_address", "requested_by", "note"]
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(FSMAdminMixin, admin.ModelAdmin):
    fsm_fields = ["status", "payment_status"]
    list_display = [
        "number",
        "merchant",
        "customer_name",
        "status_label",
        "hold_reason",
        "payment_status",
        "flow",
        "center",
        "created_at",
        "ship_by",
    ]
    list_filter = ["status", "payment_status", "flow", "merchant", "center", "hold_reason"]
    list_select_related = ["merchant", "center"]
    search_fields = ["=number", "customer_email", "=tracking_number"]
    raw_id_fields = ["reimport_of"]
    date_hierarchy = None
    readonly_fields = [
        "status_changed_at",
        "created_at",
        "stock_reserved",
        "refunded_amount",
        "approved_at",
        "hold_reason",
        "hold_note",
        "failure_reason",
        "reimport_of",
    ]
    inlines = [OrderLineInline, StatusChangeInline, TrackingEventInline, AddressChangeInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "merchant",
                    "number",
                    "flow",
                    "has_embroidery",
                    "status",
                    "payment_status",
                    "hold_reason",
                    "hold_note",
                    "failure_reason",
                ]
            },
        ),
        ("Customer", {"fields": ["customer_name", "customer_email", "customer_phone"]}),
        (
            "Ship to",
            {
                "fields": [
                    "ship_name",
                    "address1",
                    "address2",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                ]
            },
        ),
        (
            "Shipping",
            {
                "fields": [
                    "ship_option",
                    "carrier",
                    "service",
                    "tracking_number",
                    "center",
                    "ship_by",
                    "stock_reserved",
                ]
            },
        ),
        ("Money", {"fields": ["total", "currency", "refunded_amount"]}),
        (
            "Review",
            {
                "fields": [
                    "needs_approval",
                    "approved_at",
                    "reimport_of",
                    "created_at",
                    "status_changed_at",
                ]
            },
        ),
    ]

    @admin.display(description="status", ordering="status")
    def status_label(self, obj):
        return obj.sub_status_label

    def get_fsm_block_label(self, fsm_field_name):
        return "Move order" if fsm_field_name == "status" else "Payment"

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None):
        """Route the transition buttons through the service (row lock, permission, history)
        instead of the mixin's plain call-then-save."""
        try:
            order_transition(order=obj, name=transition_name, by=request.user, params=kwargs)
        except ActionRefused as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return False
        label = self._get_fsm_transition_by_name(obj=obj, transition_name=transition_name)
        self.message_user(
            request, f"{obj.number}: {self.get_fsm_label(label)} done.", level=messages.SUCCESS
        )
        return True

    def has_delete_permission(self, request, obj=None):
        return False  # orders are never hard-deleted; cancel or clean sweep them


@admin.register(StatusChange)
class StatusChangeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "order", "field", "transition", "source", "target", "actor_name"]
    list_filter = ["field", "transition", "target"]
    list_select_related = ["order"]
    search_fields = ["=order__number"]
    raw_id_fields = ["order", "actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "order", "code", "description", "location"]
    list_filter = ["code"]
    list_select_related = ["order"]
    raw_id_fields = ["order"]
    search_fields = ["=order__number", "=order__tracking_number"]


class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created here (the token is shown once, in the confirmation message) and
    revoked with the action; they are never edited or shown again."""

    list_display = ["name", "merchant", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["merchant"]
    list_select_related = ["merchant"]
    search_fields = ["name", "prefix", "merchant__name"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["merchant", "name"]
        return [
            "merchant",
            "name",
            "prefix",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, raw = token_create(merchant=obj.merchant, name=obj.name, by=request.user, token=obj)
        self.message_user(
            request,
            f"Token for {token.merchant}: {raw} (copy it now: it is stored hashed and is not "
            "shown again).",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token_revoke(token=token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.", level=messages.SUCCESS)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the name stays in the logs' vocabulary


admin.site.register(ApiToken, ApiTokenAdmin)


class ImportRowInline(ReadOnlyInline):
    model = ImportRow
    fields = ["row", "number", "outcome", "field", "message", "order", "earlier"]
    readonly_fields = fields


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "merchant",
        "source",
        "filename",
        "state",
        "total_rows",
        "created",
        "reimported",
        "skipped",
        "refused",
        "errors",
        "created_at",
    ]
    list_filter = ["state", "source", "merchant"]
    list_select_related = ["merchant"]
    exclude = ["content"]
    inlines = [ImportRowInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "content"]

    def has_add_permission(self, request):
        return False


admin.site.site_header = "Fulfillment operations"
admin.site.site_title = "Fulfillment operations"
admin.site.index_title = "Operations"
