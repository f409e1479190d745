"""The order list's filters. The whole state lives in the query string, so any view can be
bookmarked and shared; invalid values become form errors, never a 500."""

import copy
import operator
from functools import reduce

import django_filters
from django import forms
from django.db import connection
from django.db.models import Aggregate, F, Lookup, Q, TextField
from django.db.models.functions import Lower
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThan, StartsWith
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from orders import statuses as st
from orders.models import FulfillmentCenter, Order, OrderLine

from .paging import past_cursor

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
# How each sort key's values travel in a page cursor (dashboard/paging.py).
SORT_KINDS = {
    "created": ["datetime", "int"],
    "changed": ["datetime", "int"],
    "number": ["str", "int"],
}
DEFAULT_SORT = "-created"
# Past this many matches a filtered list says "1,000+" instead of counting them all.
COUNT_LIMIT = 1000
# Up to this many order lines, a SKU search matches their orders by id (search_terms).
SKU_IDS = 10_000
# From this many ids on, SQLite walks the list's index instead of looking each id up (InIds).
SQLITE_WALK_IDS = 2_000
# The highest code point: every text starting with p sorts before p + this, byte-wise.
_TOP = "\U0010ffff"


def _fold(value):
    """The search text folded the way the database's lower() folds stored values: SQLite's
    lower() changes ASCII letters only, PostgreSQL's all of them."""
    if connection.vendor == "sqlite":
        return value.translate(_ASCII_LOWER)
    return value.lower()


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def starts_with(field, value):
    """Case-insensitive prefix match that an index on (merchant, lower(field)) answers.

    PostgreSQL: lower(field) LIKE 'value%' with a text_pattern_ops index. SQLite: its LIKE
    cannot use an expression index, so the same prefix is a range on lower(field), which
    it can. The indexes are created in orders/migrations/0005_list_indexes.py."""
    folded = _fold(value)
    if connection.vendor == "sqlite":
        return Q(GreaterThanOrEqual(Lower(F(field)), folded)) & Q(
            LessThan(Lower(F(field)), folded + _TOP)
        )
    return Q(StartsWith(Lower(F(field)), folded))


def same_text(field, value):
    """Case-insensitive equality on lower(field), answered by the same indexes."""
    return Q(Exact(Lower(F(field)), _fold(value)))


class IdList(Aggregate):
    """The ids as one comma-separated text ("3,17,42"): a few thousand ids travel as one
    value instead of one row each."""

    function = "STRING_AGG"
    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        if connection.vendor == "postgresql":
            return super().as_sql(
                compiler, connection, template="STRING_AGG((%(expressions)s)::text, ',')"
            )
        return super().as_sql(
            compiler, connection, template="GROUP_CONCAT(%(expressions)s, ',')", **extra
        )


class InIds(Lookup):
    """`column IN (ids)` with the ids as one text parameter ("3,17,42"): thousands of ids
    bound one by one cost more than the query. PostgreSQL gets `= ANY(array)` (the plan of
    an IN list), SQLite reads them as a JSON array."""

    lookup_name = "in_ids"
    prepare_rhs = False

    def __init__(self, lhs, rhs, walk=True):
        super().__init__(lhs, rhs)
        self.walk = walk

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            if self.walk:
                # A constant array: PostgreSQL tests each row walked against a hash of it.
                return f"{lhs} = ANY(%s::bigint[])", [*params, "{" + self.rhs + "}"]
            # Looked up one by one: as a sub-select the planner does not estimate each of
            # thousands of elements (milliseconds of planning), and the index scan on the
            # primary key takes them as its keys all the same.
            return f"{lhs} = ANY((SELECT %s::bigint[])::bigint[])", [*params, "{" + self.rhs + "}"]
        if self.walk and self.rhs.count(",") >= SQLITE_WALK_IDS:
            # For a sorted first page, many ids are dense among the orders: walking the sort
            # index and testing each row beats fetching every id and sorting them, and SQLite
            # does not weigh that by itself. A unary + keeps it from using the primary key.
            lhs = f"+{lhs}"
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*params, f"[{self.rhs}]"]


def sku_lines(merchant, value, listed):
    """This merchant's order lines of SKU `value` whose orders are (or, with listed=False,
    are not) listed: a range of the index orderline_merchant_sku (migration 0009), which
    gives them newest first."""
    # `listed IN (x)`: SQLite reads the bare boolean Django writes for listed=x as a test on
    # each row, not as a key of the index; a one-value IN is an equality to it.
    lines = OrderLine.objects.filter(same_text("sku", value), listed__in=[listed])
    return lines if merchant is None else lines.filter(merchant=merchant)


def sku_orders(lines):
    """The ids of the orders of `lines` as text ("3,17,42") when there are up to SKU_IDS of
    them, else None (then a subquery is used)."""
    lines = lines.order_by().values("order_id")
    ids = lines[: SKU_IDS + 1].aggregate(ids=IdList("order_id"))["ids"] or ""
    return ids if ids.count(",") < SKU_IDS else None


def search_terms(value, lines):
    """What the search box matches, each term answered by an index: the order number, the
    customer's name and email from their start, the whole tracking number, a line's SKU
    (`lines`, from sku_lines())."""
    return [
        starts_with("number", value),
        starts_with("customer_name", value),
        starts_with("customer_email", value),
        same_text("tracking_number", value),
        Q(pk__in=lines.values("order_id")),
    ]


def sku_term(lines, *, ordered=True):
    """The SKU term for the list when it is not sorted by creation: the ids of the SKU's
    orders, when there are a few thousand (as a subquery, PostgreSQL would walk the sorted
    orders probing each one's lines, and for a SKU nobody ordered read every order); a
    subquery past that, where the walk soon finds a page. `ordered` says the query reads a
    sorted first page (see InIds)."""
    ids = sku_orders(lines)
    if ids == "":
        return Q(pk__in=[])
    if ids is not None:
        return Q(InIds(F("pk"), ids, walk=ordered))
    return Q(pk__in=lines.values("order_id"))


def _with_slack(wanted):
    """Lines to read for `wanted` orders: an order may have two lines of one SKU."""
    return wanted + wanted // 16 + 8


class SkuBranch:
    """The SKU term of a search sorted by creation, read from the lines' own index, which
    lists this merchant's orders of the SKU in the list's order (OrderLine keeps copies of
    its order's merchant, creation time and visibility).

    The term's first page is among the first orders the index gives: the branch takes a
    page's worth, keeps those the list's other filters let through, and takes four times as
    many while too few passed and lines remain. Without other filters (`plain`) every order
    the index gives is in the list, so counting needs nothing else."""

    FIELDS = ["order_created_at", "order_id"]

    def __init__(self, orders, lines, plain):
        self.orders = orders  # the list with its other filters and order, without the search
        self.lines = lines  # sku_lines()
        self.plain = plain

    def _ids(self, limit, cursor=None, descending=True, forward=True):
        """(order ids in the list's order, once each; whether the lines ran out)."""
        lines = self.lines
        if cursor is not None:
            lines = lines.filter(past_cursor(self.FIELDS, cursor, descending, forward))
        down = descending == forward
        lines = lines.order_by(*[f"-{f}" if down else f for f in self.FIELDS])
        found = list(lines.values_list("order_id", flat=True)[:limit])
        return list(dict.fromkeys(found)), len(found) < limit

    def _among(self, ids, walk):
        if not ids:
            return self.orders.none()
        return self.orders.filter(InIds(F("pk"), ",".join(map(str, ids)), walk=walk))

    def ranked(self, *, cursor, descending, forward, ranking, size):
        """The orders of the first candidates, in `ranking` order (the page asks for
        size + 1 of them; more() asks again when too few passed)."""
        limit = _with_slack(size + 1)
        self._asked = [limit, cursor, descending, forward, ranking]
        ids, self._done = self._ids(limit, cursor, descending, forward)
        return self._among(ids, walk=True).order_by(*ranking)

    def more(self, found, size):
        limit, cursor, descending, forward, ranking = self._asked
        while len(found) <= size and not self._done:
            limit *= 4
            ids, self._done = self._ids(limit, cursor, descending, forward)
            ranked = self._among(ids, walk=True).order_by(*ranking)
            found = list(ranked.values_list("pk", flat=True)[: size + 1])
        return found

    def count_ids(self, bound):
        """Up to `bound` ids of the term's orders in the list (for its bounded count)."""
        limit = _with_slack(bound)
        while True:
            ids, done = self._ids(limit)
            if not self.plain:
                found = self._among(ids, walk=False).order_by().values_list("pk", flat=True)
                ids = list(found[:bound])
            if len(ids) >= bound or done:
                return ids[:bound]
            limit *= 4


class QuickSelect(forms.Select):
    """A <select> written in Python: the same markup as Django's template-rendered one, but
    the list renders eight of these with ~70 options on every request and the template for
    each option costs more than the page's queries. A select whose choices are fixed (not
    read from the database) is kept once rendered, keyed by everything its markup depends
    on."""

    _rendered = {}

    def render(self, name, value, attrs=None, renderer=None):
        key = None
        if not isinstance(self.choices, ModelChoiceIterator):  # rows can change: not kept
            key = (
                name,
                tuple(value) if isinstance(value, list) else value,
                tuple(sorted({**self.attrs, **(attrs or {})}.items())),
                tuple(self.choices),
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


class ListedChoices(ModelChoiceIterator):
    """A model choice list read with one plain query. Django's iterator streams the
    queryset, which on PostgreSQL means a server-side cursor (three round trips) for the
    handful of fulfillment centers."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in list(self.queryset):
            yield self.choice(obj)


class ListedModelChoiceField(django_filters.fields.ModelChoiceField):
    iterator = ListedChoices


class ListedModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = ListedModelChoiceField


def _shows_listed(data):
    """Does a list with these filter values show listed orders (everything but clean-swept
    ones), or only clean-swept ones (asked for by the Clean Sweep tab or sub-status)?"""
    return data.get("group") != "clean_sweep" and data.get("status") != "clean_swept"


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
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Order number, customer, email, tracking, SKU"}
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
    center = ListedModelChoiceFilter(
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

    class Meta:
        model = Order
        fields = []

    def __init__(self, data=None, *args, now=None, merchant=None, **kwargs):
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
        # Applied in filter_queryset, after the other filters, so the list can also run each
        # term on its own (search_branches).
        value = value.strip()
        if value:
            self.search_value = value
            self.search_lines = sku_lines(self.merchant, value, listed=self._listed())
            self.search_terms = search_terms(value, self.search_lines)
        return queryset

    def _listed(self):
        """Does the list show listed orders (everything but clean-swept ones) or only
        clean-swept ones (the Clean Sweep tab or sub-status)?"""
        return _shows_listed(self.form.cleaned_data)

    def _plain(self):
        """No filter but the search and the list's visibility (see SkuBranch)."""
        data = self.form.cleaned_data
        if _narrowed(data, ["view", "hold_reason", "payment_status", "flow", "center"]):
            return False
        group, status = data.get("group"), data.get("status")
        if self._listed():
            return not group and not status
        return group in ("", None, "clean_sweep") and status in ("", None, "clean_swept")

    def filter_hold_reason(self, queryset, name, value):
        # Only held orders have a reason: saying so lets the status index answer.
        return queryset.filter(status="action_required", hold_reason=value)

    def filter_view(self, queryset, name, value):
        if value == "attention":
            return queryset.needing_attention(self.now)
        if value == "stuck":
            return queryset.stuck(self.now)
        if value == "late":
            return queryset.late(self.now)
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

    def filter_queryset(self, queryset):
        self.search_terms = []
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        # Clean-swept rows left the dashboard: only shown when asked for by name.
        if _shows_listed(data):
            queryset = queryset.visible()
        sort, fields, descending = self.sort_fields()
        queryset = queryset.order_by(*[f"-{f}" if descending else f for f in fields])
        self.unsearched = queryset
        if self.search_terms:
            queryset = queryset.filter(reduce(operator.or_, self.search_terms))
        return queryset

    def search_branches(self):
        """The search as one branch per term (all other filters applied), or None without
        a search. One OR over all terms makes PostgreSQL filter a scan of every order; each
        term alone is a short index range, so the list asks each for its first page and
        merges them. Each branch is a queryset, but the SKU term of a list sorted by creation
        is a SkuBranch."""
        self.qs  # noqa: B018 - runs filter_queryset, which collects the terms
        if not self.search_terms:
            return None
        branches = [self.unsearched.filter(term) for term in self.search_terms[:-1]]
        return [*branches, self._sku_branch(ordered=True)]

    def search_count_branches(self, known=None):
        """search_branches() for counting: no sorted page, so ids are looked up directly.
        Terms whose matches are already `known` (a set per term, or None) get None."""
        self.qs  # noqa: B018 - runs filter_queryset, which collects the terms
        if not self.search_terms:
            return None
        known = known or [None] * len(self.search_terms)
        branches = [self.unsearched.filter(term) for term in self.search_terms[:-1]]
        branches.append(self._sku_branch(ordered=False) if known[-1] is None else None)
        return [
            branch if whole is None else None for branch, whole in zip(branches, known, strict=True)
        ]

    def _sku_branch(self, *, ordered):
        if self.sort_fields()[0].lstrip("-") == "created":
            # Without a merchant the lines are everyone's: only the orders can say.
            plain = self.merchant is not None and self._plain()
            return SkuBranch(self.unsearched, self.search_lines, plain)
        return self.unsearched.filter(sku_term(self.search_lines, ordered=ordered))

    def sort_fields(self):
        """(sort value, [fields], descending) of the list's order; the last field is unique."""
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        sort = data.get("sort") or DEFAULT_SORT
        return sort, _SORT_FIELDS[sort.lstrip("-")], sort.startswith("-")

    def sort_kinds(self):
        return SORT_KINDS[self.sort_fields()[0].lstrip("-")]

    def kept_count(self, counts):
        """How many orders the list holds, from the kept status counts, when only the status
        filters (tab, sub-status, hold reason) are in use; None when it needs counting."""
        if not self.is_bound:
            return None
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        if _narrowed(data, ["q", "view", "payment_status", "flow", "center"]):
            return None
        statuses = {s.value for s in st.STATES}
        if data.get("group"):
            statuses &= set(st.STATES_BY_GROUP[data["group"]])
        if data.get("status"):
            statuses &= {data["status"]}
        if _shows_listed(data):
            statuses.discard("clean_swept")
        reason = data.get("hold_reason")
        return sum(
            n
            for (status, hold), n in counts.items()
            if status in statuses
            and (not reason or (status == "action_required" and hold == reason))
        )

    def exact_number(self):
        """The search text when it looks like a whole order number (for the jump)."""
        if not self.is_valid():
            return ""
        return (self.form.cleaned_data.get("q") or "").strip()

    def has_number(self, number):
        """Is `number` an order of this (filtered) list? A whole number also matches the
        search, so the other filters are enough to ask."""
        self.qs  # noqa: B018 - runs filter_queryset
        return self.unsearched.filter(number=number).exists()

    def jump_number(self, number):
        """The order of this (filtered) list that the search text names, to jump to: the
        number spelled exactly so, else the only one spelled in another case ("ab-1001"
        for AB-1001); None when there is none or the case leaves it open. One query."""
        self.qs  # noqa: B018 - runs filter_queryset
        found = list(
            self.unsearched.filter(same_text("number", number)).values_list("number", flat=True)[:3]
        )
        if number in found:
            return number
        return found[0] if len(found) == 1 else None

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


OrderFilter.base_filters = _OwnFilters(OrderFilter.base_filters)
