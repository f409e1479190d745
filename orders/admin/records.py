"""The staff admin of records: history, tracking events, import batches, API tokens and the
audit log."""

from django.contrib import admin, messages

from ..models import (
    ROW_REFUSED,
    ApiToken,
    AuditEntry,
    ImportBatch,
    ImportRow,
    StatusChange,
    TrackingEvent,
)
from ..tokens import token_create, token_revoke
from .common import ReadOnlyInline, RecordAdmin


@admin.register(StatusChange)
class StatusChangeAdmin(RecordAdmin):
    list_display = ["created_at", "order", "field", "transition", "source", "target", "actor_name"]
    list_filter = ["field", "transition", "target"]
    list_select_related = ["order"]
    search_fields = ["=order__number"]
    raw_id_fields = ["order", "actor"]


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
        ROW_REFUSED,  # the batch's count of rows refused
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


@admin.register(AuditEntry)
class AuditEntryAdmin(RecordAdmin):
    """The audit log, read only: search by merchant, user, action or order number."""

    list_display = [
        "created_at",
        "actor",
        "merchant",
        "action",
        "numbers",
        "outcome",
        "reason",
        "ip",
    ]
    list_filter = ["outcome", "action", "merchant"]
    list_select_related = ["merchant"]
    search_fields = [
        "actor",
        "user__username",
        "merchant__name",
        "merchant__slug",
        "action",
        "numbers",
        "ip",
    ]
    date_hierarchy = "created_at"
