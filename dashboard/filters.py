"""The order list's filters. The whole state lives in the query string, so any view can be
bookmarked and shared; invalid values become form errors, never a 500."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q

from orders import statuses as st
from orders.models import FulfillmentCenter, Order, OrderLine

VIEWS = [
    ("attention", "Needs attention"),
    ("stuck", "Stuck in review"),
    ("late", "Late"),
]
SORTS = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("-changed", "Last status change"),
    ("changed", "Longest unchanged"),
    ("number", "Order number (A-Z)"),
    ("-number", "Order number (Z-A)"),
]
_SORT_FIELDS = {
    "created": ["created_at", "id"],
    "changed": ["status_changed_at", "id"],
    "number": ["number", "id"],
}
DEFAULT_SORT = "-created"


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Order number, customer, email, tracking, SKU"}
        ),
    )
    view = django_filters.ChoiceFilter(
        choices=VIEWS, method="filter_view", label="View", empty_label="All orders"
    )
    group = django_filters.ChoiceFilter(
        choices=st.GROUP_CHOICES, method="filter_group", label="Status", empty_label="Any status"
    )
    status = django_filters.ChoiceFilter(
        choices=st.STATUS_CHOICES, label="Sub-status", empty_label="Any sub-status"
    )
    hold_reason = django_filters.ChoiceFilter(
        choices=st.HOLD_REASON_CHOICES, label="Hold reason", empty_label="Any hold reason"
    )
    payment_status = django_filters.ChoiceFilter(
        choices=st.PAYMENT_STATUSES, label="Payment", empty_label="Any payment"
    )
    flow = django_filters.ChoiceFilter(
        choices=st.FLOW_CHOICES, label="Flow", empty_label="Any flow"
    )
    center = django_filters.ModelChoiceFilter(
        queryset=FulfillmentCenter.objects.all(),
        label="Fulfillment center",
        empty_label="Any center",
        to_field_name="code",
    )
    created = django_filters.DateFromToRangeFilter(
        field_name="created_at",
        label="Created",
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    sort = django_filters.ChoiceFilter(
        choices=SORTS, method="filter_sort", label="Sort by", empty_label=None
    )

    class Meta:
        model = Order
        fields = []

    def __init__(self, data=None, *args, now=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.now = now

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        sku = OrderLine.objects.filter(order=OuterRef("pk"), sku__iexact=value)
        return queryset.filter(
            Q(number__istartswith=value)
            | Q(customer_name__icontains=value)
            | Q(customer_email__icontains=value)
            | Q(tracking_number__iexact=value)
            | Exists(sku)
        )

    def filter_view(self, queryset, name, value):
        if value == "attention":
            return queryset.needing_attention(self.now)
        if value == "stuck":
            return queryset.stuck(self.now)
        if value == "late":
            return queryset.late(self.now)
        return queryset

    def filter_group(self, queryset, name, value):
        return queryset.filter(status__in=st.STATES_BY_GROUP[value])

    def filter_sort(self, queryset, name, value):
        return queryset  # applied last, in filter_queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        # Clean-swept rows left the dashboard: only shown when asked for by name.
        if data.get("group") != "clean_sweep" and data.get("status") != "clean_swept":
            queryset = queryset.visible()
        sort = data.get("sort") or DEFAULT_SORT
        fields = _SORT_FIELDS[sort.lstrip("-")]
        if sort.startswith("-"):
            fields = [f"-{f}" for f in fields]
        return queryset.order_by(*fields)

    def exact_number(self):
        """The search text when it looks like a whole order number (for the jump)."""
        if not self.is_valid():
            return ""
        return (self.form.cleaned_data.get("q") or "").strip()

    def active(self):
        """[(param names to drop, "Words", value)] for each filter in use, so the page can say
        what it shows and offer to remove each one."""
        if not self.is_bound or not self.is_valid():
            return []
        data = self.form.cleaned_data
        out = []
        for name in ["view", "group", "status", "hold_reason", "payment_status", "flow"]:
            value = data.get(name)
            if value:
                field = self.form.fields[name]
                out.append(([name], field.label, dict(field.choices).get(value, value)))
        if data.get("center"):
            out.append((["center"], "Fulfillment center", str(data["center"])))
        created = data.get("created")
        if created and (created.start or created.stop):
            parts = []
            if created.start:
                parts.append(f"from {created.start:%Y-%m-%d}")
            if created.stop:
                parts.append(f"until {created.stop:%Y-%m-%d}")
            out.append((["created_after", "created_before"], "Created", " ".join(parts)))
        if (data.get("q") or "").strip():
            out.append((["q"], "Search", f"“{data['q'].strip()}”"))
        if data.get("sort") and data["sort"] != DEFAULT_SORT:
            out.append((["sort"], "Sorted by", dict(SORTS)[data["sort"]].lower()))
        return out
