"""The order list's filters. The whole state lives in the query string, so any view can be
bookmarked and shared; invalid values become form errors, never a 500."""

import copy

import django_filters
from django import forms
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from orders import search
from orders import statuses as st
from orders.models import FulfillmentCenter, ImportRow, Order
from orders.prepared import Prepared
from orders.statuses import Status, StatusGroup

from .paging import values_of_each

VIEWS = [
    ("waiting_on_you", st.OWNER_LABELS[st.YOU]),
    ("waiting_on_us", st.OWNER_LABELS[st.US]),
    ("waiting_on_customer", st.OWNER_LABELS[st.CUSTOMER]),
    ("stuck", "Stuck in review"),
    ("late", "Late"),
    ("closing_soon", "Closing soon"),
]
VIEW_OWNERS = {"waiting_on_you": st.YOU, "waiting_on_us": st.US, "waiting_on_customer": st.CUSTOMER}
# Old links said "attention": it is what Waiting on you shows now.
VIEW_ALIASES = {"attention": "waiting_on_you"}
SORTS = search.SORTS
DEFAULT_SORT = search.DEFAULT_SORT
# Every filter of the list but the search and the sort (the creation range: _narrowed()).
FILTERS = ["view", "group", "status", "hold_reason", "payment_status", "flow", "center", "batch"]
# Past this many matches a filtered list says "1,000+" instead of counting them all.
COUNT_LIMIT = 1000


class QuickSelect(forms.Select):
    """A <select> written in Python: the same markup as Django's template-rendered one, but
    the list renders eight of these with ~70 options on every request and the template for
    each option costs more than the page's queries. Once rendered, a select is kept, keyed
    by everything its markup depends on: its options too, so a select of database rows (the
    centers) reads them once per request and is kept for as long as they do not change."""

    _rendered = {}

    def render(self, name, value, attrs=None, renderer=None):
        # Iterated, not tuple(self.choices): that would ask a model iterator's len(), a COUNT.
        options = tuple(option for option in self.choices)
        if isinstance(self.choices, ModelChoiceIterator):
            # Rows read once: the markup, if it must be built, uses the same ones.
            self.choices = [(str(v), str(label)) for v, label in options]
            options = tuple(self.choices)
        key = (
            name,
            tuple(value) if isinstance(value, list) else value,
            tuple(sorted({**self.attrs, **(attrs or {})}.items())),
            options,
        )
        try:
            found = self._rendered.get(key)
        except TypeError:  # something in it cannot be a key: render every time
            key = found = None
        if found is not None:
            return found
        markup = self._markup(name, value, attrs)
        if key is not None:
            if len(self._rendered) >= 1024:
                self._rendered.clear()
            self._rendered[key] = markup
        return markup

    def _markup(self, name, value, attrs):
        widget = self.get_context(name, value, attrs)["widget"]
        options = [
            format_html(
                '<option value="{}"{}>{}</option>',
                option["value"],
                mark_safe(" selected") if option["selected"] else "",
                option["label"],
            )
            for _group, group_options, _index in widget["optgroups"]
            for option in group_options
        ]
        return format_html(
            "<select{}>\n  {}\n</select>",
            flatatt({"name": widget["name"], **widget["attrs"]}),
            mark_safe("\n  ".join(options)),
        )


class QuickTextInput(forms.TextInput):
    """A text input written in Python, the same markup as Django's three nested templates
    for it (the search box renders on every list request)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        shown = widget["value"]
        return format_html(
            '<input type="{}" name="{}"{}{}>',
            widget["type"],
            widget["name"],
            format_html(' value="{}"', shown) if shown is not None else "",
            flatatt(widget["attrs"]),
        )


# The centers, in their order (code), for the list's center filter on every request: the
# statement is built once (orders/prepared.py).
_CENTERS = Prepared(FulfillmentCenter, lambda: FulfillmentCenter.objects.all(), objects=True)


class CenterChoices(ModelChoiceIterator):
    """The fulfillment centers as choices, read with one plain prepared query. Django's
    iterator streams the queryset, which on PostgreSQL means a server-side cursor (three
    round trips) for the handful of centers, and builds the query anew each time."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in _CENTERS():
            yield self.choice(obj)


class CenterChoiceField(django_filters.fields.ModelChoiceField):
    iterator = CenterChoices


class CenterChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = CenterChoiceField


def _shows_listed(data):
    """Does a list with these filter values show listed orders (everything but clean-swept
    ones), or only clean-swept ones (asked for by the Clean Sweep tab or sub-status)?"""
    return data.get("group") != StatusGroup.CLEAN_SWEEP and data.get("status") != Status.CLEAN_SWEPT


def _narrowed(data, names):
    """Is any of the filters `names`, or the creation date range, in use?"""
    created = data.get("created")
    return any(data.get(name) for name in names) or bool(
        created and (created.start or created.stop)
    )


class _OwnFilters(dict):
    """A FilterSet's filters, copied for each instance one level deep. FilterSet deep-copies
    them for every request, widgets and choice lists included, which costs more than the
    list's queries; each instance only sets its own `parent` and `model` on them."""

    def __deepcopy__(self, memo):
        return _OwnFilters((name, self._copy(f)) for name, f in self.items())

    @staticmethod
    def _copy(original):
        new = copy.copy(original)
        if original.method is not None:
            new.method = original.method  # binds a new FilterMethod to the copy
        return new


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=QuickTextInput(
            attrs={
                "type": "search",
                "placeholder": "Search number, name, email, tracking, SKU or note",
            }
        ),
    )
    view = django_filters.ChoiceFilter(
        widget=QuickSelect,
        choices=VIEWS,
        method="filter_view",
        label="View",
        empty_label="All orders",
    )
    group = django_filters.ChoiceFilter(
        widget=QuickSelect,
        choices=st.GROUP_CHOICES,
        method="filter_group",
        label="Status",
        empty_label="Any status",
    )
    status = django_filters.ChoiceFilter(
        widget=QuickSelect,
        choices=st.STATUS_CHOICES,
        label="Sub-status",
        empty_label="Any sub-status",
    )
    hold_reason = django_filters.ChoiceFilter(
        widget=QuickSelect,
        choices=st.HOLD_REASON_CHOICES,
        method="filter_hold_reason",
        label="Hold reason",
        empty_label="Any hold reason",
    )
    payment_status = django_filters.ChoiceFilter(
        widget=QuickSelect, choices=st.PAYMENT_STATUSES, label="Payment", empty_label="Any payment"
    )
    flow = django_filters.ChoiceFilter(
        widget=QuickSelect, choices=st.FLOW_CHOICES, label="Flow", empty_label="Any flow"
    )
    center = CenterChoiceFilter(
        widget=QuickSelect,
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
        widget=QuickSelect, choices=SORTS, method="filter_sort", label="Sort by", empty_label=None
    )
    # The orders of one import batch (the import report's "need you" links).
    batch = django_filters.NumberFilter(
        method="filter_batch", label="Import", min_value=1, max_value=2**63 - 1
    )

    class Meta:
        model = Order
        fields = []

    def __init__(self, data=None, *args, now=None, merchant=None, **kwargs):
        if data is not None and data.get("view") in VIEW_ALIASES:
            data = data.copy()
            data["view"] = VIEW_ALIASES[data["view"]]
        super().__init__(data, *args, **kwargs)
        self.now = now
        self.merchant = merchant

    def get_form_class(self):
        # The form's fields are the same for every request (each form deep-copies them),
        # so the class is built once.
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:
            cls._form_class = super().get_form_class()
        return cls._form_class

    def filter_search(self, queryset, name, value):
        return queryset  # applied last, in filter_queryset, with the ranking

    def filter_hold_reason(self, queryset, name, value):
        # Only held orders have a reason: saying so lets the status index answer.
        return queryset.filter(status=Status.ACTION_REQUIRED, hold_reason=value)

    def filter_batch(self, queryset, name, value):
        rows = ImportRow.objects.filter(batch_id=value, order__isnull=False)
        if self.merchant is not None:
            rows = rows.filter(batch__merchant=self.merchant)
        return queryset.filter(pk__in=rows.values("order_id"))

    def filter_view(self, queryset, name, value):
        if value in VIEW_OWNERS:
            return queryset.waiting_on(VIEW_OWNERS[value], self.now)
        if value == "stuck":
            return queryset.stuck(self.now)
        if value == "late":
            return queryset.late(self.now)
        if value == "closing_soon":
            return queryset.closing_soon(self.now)
        return queryset

    def filter_group(self, queryset, name, value):
        states = st.STATES_BY_GROUP[value]
        status = self.form.cleaned_data.get("status")
        if status:
            # A sub-status of the tab: its own equality is enough, and a second condition
            # on the column keeps PostgreSQL from reading the index in order.
            return queryset if status in states else queryset.none()
        return queryset.filter(status__in=states)

    def filter_sort(self, queryset, name, value):
        return queryset  # applied last, in filter_queryset

    def search_text(self):
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        return (data.get("q") or "").strip()

    def filter_queryset(self, queryset):
        self._filter(queryset)
        queryset = self.unordered
        text = self.search_text()
        if text:
            queryset = queryset.annotate(relevance=search.relevance(text, self.merchant))
        _sort, fields, descending = self.sort_fields()
        return queryset.order_by(*[f"-{f}" if descending else f for f in fields])

    def _filter(self, queryset):
        """Sets `unsearched` (the orders the filters leave) and `unordered` (those matching
        the search too, without the ranking or a sort)."""
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        # Clean-swept rows left the dashboard: only shown when asked for by name.
        if _shows_listed(data):
            queryset = queryset.visible()
        self.unsearched = queryset
        text = self.search_text()
        if text:
            queryset = queryset.filter(search.matching(text))
        self.unordered = queryset

    def filtered(self):
        """The matching orders without the ranking or a sort: what a count, the search's
        tiers and the exact-number look-up start from. Building the ranking (a CASE with a
        subquery) costs more than a millisecond, for nothing when the page is read tier by
        tier or only counted."""
        if not hasattr(self, "unordered"):
            queryset = self.queryset.all()
            if self.is_bound:
                self.errors  # noqa: B018 - validates the form, as qs does
                self._filter(queryset)
            else:
                self.unsearched = self.unordered = queryset
        return self.unordered

    def tiers(self):
        """The list split by relevance ([(rank, orders)], see orders.search.tiers) when it
        is sorted by best match, else None."""
        _sort, fields, _descending = self.sort_fields()
        if fields[0] != "relevance":
            return None
        self.filtered()
        # exact_number() has looked for the number already: no second look.
        any_exact = getattr(self, "same_numbers", None) != []
        any_sku = getattr(self, "skus", None) != []
        return search.tiers(
            self.unordered,
            self.search_text(),
            self.merchant,
            any_exact=any_exact,
            any_sku=any_sku,
            unsearched=self.unsearched,
            listed=_shows_listed(self.form.cleaned_data),
            bound=COUNT_LIMIT + 1,
            alone=not _narrowed(self.form.cleaned_data, FILTERS),
        )

    def sort_select(self):
        """The sort menu, showing the order the list is really in: Best match while
        searching when no other sort was asked for (an empty value would show the menu's
        first choice, Newest first)."""
        bound = self.form["sort"]
        attrs = bound.build_widget_attrs({"id": bound.auto_id})
        value = self.sort_fields()[0] if self.is_valid() else bound.value()
        return mark_safe(bound.field.widget.render(bound.html_name, value, attrs=attrs))  # noqa: S308 - the widget escapes

    def sort_fields(self):
        """(sort value, [fields], descending) of the list's order; the last field is unique."""
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        return search.sort_of(data.get("sort") or "", bool(self.search_text()))

    def sort_kinds(self):
        return search.SORT_KINDS[self.sort_fields()[0].lstrip("-")]

    def kept_count(self, counts):
        """How many orders the list holds, from the kept status counts, when only the status
        filters (tab, sub-status, hold reason) are in use; None when it needs counting."""
        if not self.is_bound:
            return None
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        if _narrowed(data, ["q", "view", "payment_status", "flow", "center", "batch"]):
            return None
        statuses = {s.value for s in st.STATES}
        if data.get("group"):
            statuses &= set(st.STATES_BY_GROUP[data["group"]])
        if data.get("status"):
            statuses &= {data["status"]}
        if _shows_listed(data):
            statuses.discard(Status.CLEAN_SWEPT)
        reason = data.get("hold_reason")
        return sum(
            n
            for (status, hold), n in counts.items()
            if status in statuses
            and (not reason or (status == Status.ACTION_REQUIRED and hold == reason))
        )

    def exact_number(self):
        """The number of the order this list's search names exactly (in any case), within
        the other filters, or None: the list then jumps to it."""
        if not self.is_valid() or not self.search_text():
            return None
        self.filtered()
        text = self.search_text()
        # One statement asks both: which orders have this number, and is it a SKU (tiers()).
        self.same_numbers, self.skus = values_of_each(
            [
                search.same_numbers_query(self.unsearched, text),
                search.sku_query(self.merchant, text),
            ]
        )
        return search.exact_number(self.unsearched, text, self.same_numbers)

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
        if data.get("batch"):
            out.append((["batch"], "Import", f"#{int(data['batch'])}"))
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


OrderFilter.base_filters = _OwnFilters(OrderFilter.base_filters)
