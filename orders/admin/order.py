"""The staff admin of orders: the change page (edits through orders.staff, transitions
through orders.services) with its inlines, and the work-queue filter. Bulk transitions are in
orders/admin/bulk.py."""

import re

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.utils.functional import cached_property
from django.utils.html import format_html
from django_fsm.admin import FSMAdminMixin

from .. import audit, search, staff
from .. import statuses as st
from ..models import (
    AddressChange,
    Order,
    OrderLine,
    OrderNote,
    StatusChange,
    TrackingEvent,
)
from ..notes import order_add_note
from ..queues import QUEUE_BY_VALUE, QUEUES
from ..services import ActionRefused, order_transition
from .bulk import BulkTransitions, bulk_actions
from .common import ReadOnlyInline, RefusalsAsFormErrors, RefusalShown


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product"]

    # Reserved stock is counted from the lines: once reserved (or fulfillment started) they
    # are fixed, or releasing and consuming would no longer add up.
    @staticmethod
    def _editable(obj):
        return obj is None or (obj.status in staff.LINES_EDITABLE_IN and not obj.stock_reserved)

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


# The changelist counts orders no further than this: counting every order took 530 ms at ten
# million, on each page and twice on each bulk action (its count and the full count beside).
ADMIN_COUNT_CAP = 10_000


class _AtLeast(int):
    """A count that stopped past its cap: compares as the number counted, reads "10,000+"
    (the changelist's total and its "Select all" link)."""

    def __str__(self):
        return f"{int(self) - 1:,}+"


class CappedPaginator(Paginator):
    """The order changelist's pages, counted up to ADMIN_COUNT_CAP: past it the list says
    "10,000+ orders" and pages as far as the cap; filters and search narrow it."""

    @cached_property
    def count(self):
        found = self.object_list.order_by()[: ADMIN_COUNT_CAP + 1].count()
        return _AtLeast(found) if found > ADMIN_COUNT_CAP else found


@admin.register(Order)
class OrderAdmin(RefusalsAsFormErrors, BulkTransitions, FSMAdminMixin, admin.ModelAdmin):
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
    actions = bulk_actions()
    list_per_page = 100
    paginator = CappedPaginator
    show_full_result_count = False  # a second count of the whole table
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

    def get_ordering(self, request):
        """Newest first: by creation time within one merchant (the orders' indexes start
        with the merchant), else by arrival, which the primary key's index answers: sorted
        by creation time, the unfiltered list sorted every order (6.7 s at ten million
        orders). A column heading still sorts by its column."""
        if request.GET.get("merchant__id__exact"):
            return super().get_ordering(request)
        return ["-id"]

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
