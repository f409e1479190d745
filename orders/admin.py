"""The operations staff's workplace. Status fields are read-only; they change only through the
transition buttons, which go through the same service as every other caller (row lock,
permission check, history)."""

import csv
import re
from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django_fsm.admin import FSMAdminMixin

from . import audit, search, staff
from . import statuses as st
from .forms import (
    TRACKING_CSV_HEADER,
    BulkHandOverForm,
    FailForm,
    HoldForm,
    InventoryLevelForm,
    StockAdjustForm,
)
from .holds import order_stock_arrived
from .matching import mapping_for, mappings_by_option
from .models import (
    AddressChange,
    ApiToken,
    AuditEntry,
    FulfillmentCenter,
    ImportBatch,
    ImportRow,
    InventoryLevel,
    Membership,
    Merchant,
    Order,
    OrderLine,
    OrderNote,
    Product,
    ShipOptionMapping,
    StatusChange,
    TrackingEvent,
)
from .notes import order_add_note
from .queues import QUEUE_BY_VALUE, QUEUES
from .services import ActionRefused, order_transition
from .text import safe_cell
from .tokens import token_create, token_revoke

# Staff transitions offered as bulk actions, in the order work flows through a facility.
BULK_TRANSITIONS = [
    "start_pick",
    "finish_pick",
    "start_digitizing",
    "start_upload",
    "pass_file",
    "start_production",
    "finish_production",
    "pack_and_label",
    "hand_over",
    "hold",
    "release",
    "approve",
    "decline",
    "fail",
    "mark_paid",
    "refuse_payment",
]
# Transitions that need input ask for it once for the whole batch on an intermediate page.
BULK_FORMS = {"hand_over": BulkHandOverForm, "hold": HoldForm, "fail": FailForm}
SHOWN_NUMBERS = 30
EDITABLE_LINES = [
    "draft",
    "import_review",
    "action_required",
]  # order numbers listed in one message before "and N more"


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


# --- saves that a service may refuse ---------------------------------------------------------


class RefusalShown(forms.ModelForm):
    """A form that shows a service's refusal of its save as its own error (see
    RefusalsAsFormErrors): the message at the top, per-field messages at their fields."""

    refused = None

    def clean(self):
        data = super().clean()
        if self.refused is not None:
            for name, message in (getattr(self.refused, "errors", None) or {}).items():
                if name in self.fields:
                    self.add_error(name, message)
            raise forms.ValidationError(self.refused.message)
        return data


class RefusalsAsFormErrors:
    """The change page saves through a service (save_model / save_related). When the service
    refuses, the admin's transaction is rolled back and the same POST is shown again, with
    the refusal as the form's error and what the person typed still in the fields."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ActionRefused as exc:
            if request.method != "POST" or getattr(request, "_refused", None) is not None:
                raise
            # The service's own audit entry went with the rollback: keep the refusal.
            self.record_refusal(request, exc)
            request._refused = exc
            return super().changeform_view(request, object_id, form_url, extra_context)

    def record_refusal(self, request, exc):
        """Write the audit entry of a refused save (after the admin's rollback)."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        refused = getattr(request, "_refused", None)
        if refused is None:
            return form
        return type(form.__name__, (form,), {"refused": refused})


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


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product"]

    # Reserved stock is counted from the lines: once reserved (or fulfillment started) they
    # are fixed, or releasing and consuming would no longer add up.
    @staticmethod
    def _editable(obj):
        return obj is None or (obj.status in EDITABLE_LINES and not obj.stock_reserved)

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)

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


class OrderNoteInline(admin.TabularInline):
    """Internal notes: staff add one "from operations" (the merchant sees it on the order
    page and in the list); existing notes are read-only (append-only)."""

    model = OrderNote
    extra = 1
    can_delete = False
    fields = ["created_at", "author_name", "from_operations", "text"]
    readonly_fields = ["created_at", "author_name", "from_operations"]
    verbose_name = "internal note"

    def has_change_permission(self, request, obj=None):
        return False


def _numbers(numbers):
    shown = ", ".join(numbers[:SHOWN_NUMBERS])
    more = len(numbers) - SHOWN_NUMBERS
    return f"{shown} and {more} more" if more > 0 else shown


def _label(name):
    method = getattr(Order, name)
    transition = next(iter(method._django_fsm.transitions.values()))
    return transition.custom.get("label") or name


def _transitions():
    """{name: Transition} of every status and payment transition on Order."""
    found = {}
    for name in dir(Order):
        meta = getattr(getattr(Order, name, None), "_django_fsm", None)
        if meta is not None:
            found[name] = next(iter(meta.transitions.values()))
    return found


TRANSITIONS = _transitions()
FSM_POST_PARAM = "_fsm_transition_to"  # the change page's transition buttons
_NUMBER_NOT_IN_URL = re.compile(r"/|^\.{1,2}$")


class OrderChangeForm(RefusalShown):
    """The order's change page. `shown` carries what the page showed (orders.staff); on a
    POST it becomes the form's initial data, so changed_data is what the person changed on
    the page, not the difference to the order as it is by now."""

    shown = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.snapshot = None
        if self.is_bound:
            token = self.data.get("shown", "")
            self.snapshot = staff.read_shown(token)
            if self.snapshot is not None:
                values = staff.shown_values(self.snapshot)
                self.initial.update({k: v for k, v in values.items() if k in self.fields})
            self.initial["shown"] = token
        elif self.instance.pk:
            self.initial["shown"] = staff.shown_token(self.instance)

    def clean_number(self):
        number = self.cleaned_data["number"].strip()
        if _NUMBER_NOT_IN_URL.search(number):
            raise forms.ValidationError("An order number cannot contain '/' or be '.' or '..'.")
        return number

    def clean(self):
        if self.is_bound and self.snapshot is None:
            raise forms.ValidationError(
                "This page does not say what it showed (it may be older than the last update "
                "of the admin). Nothing was saved: open the order again and redo your change."
            )
        name = self.data.get(FSM_POST_PARAM)
        if name and name not in TRANSITIONS:
            raise forms.ValidationError(
                f"'{name[:40]}' is not an action on orders. Nothing was saved."
            )
        return super().clean()


class WorkQueueFilter(admin.SimpleListFilter):
    """What waits for staff, by next step. Combine with the center filter for one facility."""

    title = "work queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(q.value, q.label) for q in QUEUES]

    def queryset(self, request, queryset):
        queue = QUEUE_BY_VALUE.get(self.value())
        return queue.apply(queryset) if queue else queryset


def _seen_statuses(post):
    """{order id: status} a list or confirmation page showed (its seen-<id> inputs)."""
    seen = {}
    for key, value in post.items():
        pk = key.removeprefix("seen-")
        if key.startswith("seen-") and pk.isdigit() and value in st.STATE_BY_VALUE:
            seen[int(pk)] = value
    return seen


def _bulk_action(name):
    def action(modeladmin, request, queryset):
        return modeladmin.bulk_transition(request, queryset, name)

    action.__name__ = f"bulk_{name}"
    suffix = "…" if name in BULK_FORMS else ""
    return admin.action(description=f"{_label(name)}{suffix}", permissions=["change"])(action)


@admin.register(Order)
class OrderAdmin(RefusalsAsFormErrors, FSMAdminMixin, admin.ModelAdmin):
    """Orders for staff. Edits on the change page go through orders.staff.order_staff_edit
    (row lock, stale-page check, audit); statuses change only by transitions, which go
    through orders.services.order_transition; the merchant of an order is fixed."""

    form = OrderChangeForm
    fsm_fields = ["status", "payment_status"]
    # django-fsm's change form, with the transition buttons also at the top.
    change_form_template = "admin/orders/order/change_form.html"
    fsm_transition_form_template = "admin/orders/order/transition_form.html"
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
    list_filter = [
        WorkQueueFilter,
        "center",
        "status",
        "payment_status",
        "flow",
        "merchant",
        "hold_reason",
    ]
    actions = [_bulk_action(name) for name in BULK_TRANSITIONS]
    list_per_page = 100
    list_select_related = ["merchant", "center"]
    search_fields = ["=number", "customer_email", "=tracking_number"]
    raw_id_fields = ["reimport_of"]
    date_hierarchy = None
    readonly_fields = [
        # Which merchant sees the order, its products, lines, counts and stock: never moved
        # (see docs/staff-edits.md).
        "merchant",
        # Stock is reserved at this center for this flow's lines: fixed once accepted.
        "flow",
        "has_embroidery",
        "center",
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
    inlines = [
        OrderLineInline,
        OrderNoteInline,
        StatusChangeInline,
        TrackingEventInline,
        AddressChangeInline,
    ]

    def save_formset(self, request, form, formset, change):
        if formset.model is OrderNote:
            # Notes go through the service: author, "from operations", the search text.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for note_form in formset.forms:
                text = note_form.cleaned_data.get("text") if note_form.has_changed() else ""
                if text and note_form.instance.pk is None:
                    formset.new_objects.append(
                        order_add_note(
                            order=formset.instance,
                            by=request.user,
                            text=text,
                            from_operations=True,
                        )
                    )
            return
        super().save_formset(request, form, formset, change)
        if formset.model is OrderLine:
            search.reindex([formset.instance.pk])  # a line's SKU is searched

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "merchant",
                    "number",
                    "shown",
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
        # The status this list showed travels with a bulk action, which then refuses an
        # order that moved on meanwhile instead of acting on what nobody saw.
        return format_html(
            '{}<input type="hidden" name="seen-{}" value="{}">',
            obj.sub_status_label,
            obj.pk,
            obj.status,
        )

    def get_fsm_block_label(self, fsm_field_name):
        return "Move order" if fsm_field_name == "status" else "Payment"

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None):
        """Route the transition buttons through the service (row lock, permission, history)
        instead of the mixin's plain call-then-save. A button pressed on the change page
        applies only if the order is still in the status that page showed."""
        try:
            order_transition(
                order=obj,
                name=transition_name,
                by=request.user,
                params=kwargs,
                expected_status=getattr(request, "_shown_status", None),
            )
        except ActionRefused as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return False
        label = TRANSITIONS[transition_name]
        self.message_user(
            request, f"{obj.number}: {self.get_fsm_label(label)} done.", level=messages.SUCCESS
        )
        return True

    def fsm_transition_view(self, request, object_id, transition_name, **kwargs):
        if transition_name not in TRANSITIONS:
            raise Http404(f"'{transition_name[:40]}' is not an action on orders.")
        seen = request.POST.get("seen")
        if seen in st.STATE_BY_VALUE:  # the status the transition's page showed
            request._shown_status = seen
        return super().fsm_transition_view(request, object_id, transition_name, **kwargs)

    def response_change(self, request, obj):
        name = request.POST.get(FSM_POST_PARAM)
        if name and name not in TRANSITIONS:  # the form refuses it first; kept as a net
            self.message_user(request, f"'{name[:40]}' is not an action.", level=messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # orders are never hard-deleted; cancel or clean sweep them

    def has_add_permission(self, request):
        return False  # orders come in through imports, which start their history and review

    def record_refusal(self, request, exc):
        order = exc.order
        if order is not None and audit.is_audited(request.user):
            audit.record(
                "admin_edit",
                by=request.user,
                merchant=order.merchant_id,
                numbers=[order.number],
                outcome=audit.REFUSED,
                reason=exc.message,
            )

    def save_model(self, request, obj, form, change):
        """Nothing here: the order and its lines are saved together in save_related, by one
        service call under one row lock."""

    def save_related(self, request, form, formsets, change):
        """Save what the person changed on the page (fields and lines) through
        orders.staff.order_staff_edit, which refuses a stale page (raised to
        RefusalsAsFormErrors) and leaves what others changed meanwhile as it is."""
        shown = form.snapshot
        request._shown_status = shown["fields"]["status"]
        for formset in formsets:  # what the change message reads; saving fills them in
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        notes = next((fs for fs in formsets if fs.model is OrderNote), None)
        if notes is not None:  # a note "from operations" is appended whatever else changed
            self.save_formset(request, form, notes, change)
        changes = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in staff.EDITABLE and name in form.cleaned_data
        }
        lines = next((fs for fs in formsets if fs.prefix == "lines"), None)
        page_lines_editable = shown["fields"]["status"] in staff.LINES_EDITABLE_IN and (
            shown["fields"]["stock_reserved"] == "False"
        )
        lines_changed = page_lines_editable and staff.submitted_lines_differ(
            request.POST, shown["lines"]
        )
        if not changes and not lines_changed:
            return
        _order, meanwhile = staff.order_staff_edit(
            order=form.instance,
            by=request.user,
            shown=shown,
            changes=changes,
            lines_changed=lines_changed,
            save_lines=lambda order: self._save_lines(request, lines, order),
        )
        if meanwhile:
            self.message_user(
                request,
                f"Saved your change. Changed meanwhile by others and kept as it is now: "
                f"{staff.describe(meanwhile)}.",
                level=messages.WARNING,
            )

    def _save_lines(self, request, formset, order):
        # A formset built while the lines were fixed has no fields: it would save nothing.
        if formset is None or "quantity" not in formset.form.base_fields or not formset.is_valid():
            raise ActionRefused(
                "The lines can no longer be changed here (stock was reserved or fulfillment "
                "started meanwhile). Nothing was saved."
            )
        formset.instance = order
        self.save_formset(request, formset.form, formset, change=True)

    # -- bulk transitions -------------------------------------------------------------------

    def bulk_transition(self, request, queryset, name):
        """Apply transition `name` to each selected order it is allowed for, one transaction
        per order, and report per order what happened. Transitions that need input first
        show an intermediate page that asks once for the batch."""
        orders = list(queryset.select_related("merchant", "center").order_by("number", "id"))
        seen = _seen_statuses(request.POST)
        for order in orders:  # what the list showed; an order that moved on is refused
            order.seen_status = seen.get(order.pk, order.status)
        form_class = BULK_FORMS.get(name)
        if form_class is None:
            return self._apply_bulk(request, orders, name, lambda order: {})
        extra = {}
        if form_class is BulkHandOverForm:
            extra = {"orders": orders}
            mapped = self._mappings(orders)
            for order in orders:  # what a blank carrier field will use, shown on the page
                mapping = mapping_for(mapped, order.merchant_id, order.ship_option)
                order.default_carrier = order.carrier or (mapping.carrier if mapping else "")
        if "apply" in request.POST or "download_csv" in request.POST:
            if "download_csv" in request.POST:
                return self._tracking_csv(orders)
            form = form_class(request.POST, request.FILES, **extra)
            if form.is_valid():
                return self._apply_bulk(request, orders, name, self._params_for(name, form))
        else:
            form = form_class(**extra)
        return TemplateResponse(
            request,
            "admin/orders/order/bulk_transition.html",
            {
                **self.admin_site.each_context(request),
                "title": _label(name),
                "opts": self.model._meta,
                "orders": orders,
                "form": form,
                "action": f"bulk_{name}",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "form_url": request.get_full_path(),
                "csv_download": name == "hand_over",
                "media": self.media + form.media,
            },
        )

    def _params_for(self, name, form):
        data = form.cleaned_data
        if name == "hold":
            return lambda order: {"reason": data["reason"], "note": data["note"]}
        if name == "fail":
            return lambda order: {"reason": data["reason"]}
        mapped = self._mappings(form.orders)
        plan = data["plan"]

        def hand_over_params(order):
            line = plan.get(order.pk)
            if line is None:
                return "no tracking number given"
            mapping = mapping_for(mapped, order.merchant_id, order.ship_option)
            carrier = (
                line["carrier"]
                or data["carrier"]
                or order.carrier
                or (mapping.carrier if mapping else "")
            )
            if not carrier:
                return "no carrier: give one for the batch or on its line"
            service = line["service"] or data["service"] or order.service
            if not service and mapping and mapping.carrier == carrier:
                service = mapping.service
            return {
                "carrier": carrier,
                "service": service,
                "tracking_number": line["tracking_number"],
            }

        return hand_over_params

    def _apply_bulk(self, request, orders, name, params_for):
        label = _label(name)
        done, refused = [], defaultdict(list)
        for order in orders:
            params = params_for(order)
            if isinstance(params, str):
                refused[params].append(order.number)
                continue
            try:
                order_transition(
                    order=order,
                    name=name,
                    by=request.user,
                    params=params,
                    expected_status=order.seen_status,
                )
            except ActionRefused as exc:
                reason = exc.message.removeprefix(f"Order {order.number}: ").rstrip(".")
                refused[reason].append(order.number)
            else:
                done.append(order.number)
        if done:
            self.message_user(
                request,
                f"{label}: done for {len(done)} order{'s' if len(done) != 1 else ''} "
                f"({_numbers(done)}).",
                level=messages.SUCCESS,
            )
        for reason, numbers in refused.items():
            count = f"{len(numbers)} order{'s' if len(numbers) != 1 else ''}"
            self.message_user(
                request,
                f"{label}: refused for {count}, {reason}: {', '.join(numbers)}.",
                level=messages.ERROR,
            )
        return None  # back to the list, filters kept

    @staticmethod
    def _mappings(orders):
        """The ship-option mappings of these orders' merchants (orders/matching.py)."""
        return mappings_by_option({o.merchant_id for o in orders})

    def _tracking_csv(self, orders):
        """The selection as a CSV to fill in (tracking numbers) and upload again."""
        mapped = self._mappings(orders)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="hand-over.csv"'
        writer = csv.writer(response)
        writer.writerow(TRACKING_CSV_HEADER)
        for order in orders:
            mapping = mapping_for(mapped, order.merchant_id, order.ship_option)
            carrier = order.carrier or (mapping.carrier if mapping else "")
            service = order.service or (mapping.service if mapping else "")
            # Order numbers come from merchants' stores: no formulas in staff's spreadsheet.
            writer.writerow(
                [safe_cell(v) for v in (order.number, order.tracking_number, carrier, service)]
            )
        return response


class RecordAdmin(admin.ModelAdmin):
    """Append-only records (history, audit): shown and searched, never added, changed or
    deleted from the admin (the models refuse it too, see orders/integrity.py)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
