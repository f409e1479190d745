"""The order list: status tabs and chips, smart and saved views with their counts, sortable
columns, one cursor page of rows."""

import datetime

from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect

from orders import statuses as st
from orders.counts import status_counts
from orders.deadlines import CLOSING_SOON
from orders.models import Order
from orders.models.queryset import STUCK_AFTER, closing_between_q, stuck_since_q
from orders.notes import shown_views
from orders.search import SORTABLE_COLUMNS, Keys, Window
from orders.statuses import StatusGroup

from .. import access, workspace
from ..filters import COUNT_LIMIT, VIEW_ALIASES, VIEW_OWNERS, VIEWS, OrderFilter
from ..forms import BULK_ACTION_NAMES
from ..paging import PreparedCounts, counts_of_each, keyset_page, windowed_count
from ..replica import reads_replica
from ..rows import attach_details, read_rows
from .account import home
from .bulk import BULK_LIMIT
from .common import ACTIONS, _filterset, _kept, _render, use_merchant_zone

PAGE_SIZE = 50


def _without(request, names):
    params = request.GET.copy()
    for name in [*names, "page", "cursor"]:
        params.pop(name, None)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


def _tabs(counts, filterset):
    """Status tabs (with counts) and, for the chosen tab, its sub-status or hold-reason chips."""
    per_state = {}
    per_reason = {}
    for (status, reason), n in counts.items():
        per_state[status] = per_state.get(status, 0) + n
        if reason:
            per_reason[reason] = per_reason.get(reason, 0) + n
    data = filterset.form.cleaned_data if filterset.is_bound and filterset.is_valid() else {}
    chosen = data.get("group") or ""
    tabs = [
        {
            "value": "",
            "label": "All",
            "count": sum(per_state.get(s, 0) for s in st.STATES_IN_ALL),
            "active": not chosen,
            "tone": "all",
        }
    ]
    for group in st.GROUPS:
        tabs.append(
            {
                "value": group.value,
                "label": group.label,
                "count": sum(per_state.get(s, 0) for s in st.STATES_BY_GROUP[group.value]),
                "active": chosen == group.value,
                "tone": group.tone,
                "aside": not group.in_all,
            }
        )
    chips = []
    if chosen == StatusGroup.ACTION_REQUIRED:
        chips = [
            {
                "param": "hold_reason",
                "value": h.value,
                "label": h.label,
                "count": per_reason.get(h.value, 0),
                "active": data.get("hold_reason") == h.value,
                "title": h.explanation,
            }
            for h in st.HOLD_REASONS
        ]
    elif chosen and len(st.STATES_BY_GROUP[chosen]) > 1:
        chips = [
            {
                "param": "status",
                "value": s,
                "label": st.state(s).label,
                "count": per_state.get(s, 0),
                "active": data.get("status") == s,
                "title": st.state(s).explanation,
            }
            for s in st.STATES_BY_GROUP[chosen]
        ]
    return tabs, chips


def _view_counts(request, merchant, counts, saved, now):
    """The smart views and the saved views, each with its count: kept counts where the view
    is only status filters (and the owners' holds), otherwise counted up to COUNT_LIMIT + 1,
    all such counts in one statement."""
    chosen = request.GET.get("view", "")
    chosen = VIEW_ALIASES.get(chosen, chosen)
    smart = []
    stuck = soon = None
    for value, label in VIEWS:
        item = {"value": value, "label": label, "count": None, "active": chosen == value}
        owner = VIEW_OWNERS.get(value)
        if owner is not None:
            item["count"] = _kept(counts, owner)
            if owner == st.US:  # plus the orders stuck in review, counted up to the bound
                stuck = item
        elif value == "closing_soon":
            soon = item
        smart.append(item)
    asked = []
    views = []
    for view in saved:
        item = {
            "view": view,
            "count": None,
            "capped": False,
            "mine": view.owner_id == request.user.pk,
        }
        filterset = OrderFilter(
            QueryDict(view.query), queryset=access.orders_for(request), now=now, merchant=merchant
        )
        if filterset.is_valid():
            kept = filterset.kept_count(counts)
            if kept is not None:
                item["count"] = kept
            else:
                ids = filterset.filtered().order_by().values_list("pk", flat=True)
                ids = ids[: COUNT_LIMIT + 1]
                asked.append((item, ids))
        views.append(item)
    moments = (now - STUCK_AFTER, now, now + CLOSING_SOON)
    if asked:  # the saved views' counts in the same statement
        found = counts_of_each([*_smart_counted(merchant.pk, *moments), *(q for _i, q in asked)])
    else:
        found = _SMART_COUNTS(merchant.pk, *moments)
    for item, n in zip([stuck, soon, *(item for item, _q in asked)], found, strict=True):
        if item is None:
            continue
        total = (item["count"] or 0) + n
        item["capped"] = total > COUNT_LIMIT
        item["count"] = min(total, COUNT_LIMIT)
    return smart, views


def _smart_counted(merchant_id, stuck_before, start, end):
    """What the smart views count beyond the kept counts, up to the bound: the orders stuck
    in review, and those whose point of no return is within two hours (read from its own
    small index)."""
    orders = Order.objects.filter(merchant_id=merchant_id).order_by()
    return [
        orders.filter(stuck_since_q(stuck_before)).values_list("pk", flat=True)[: COUNT_LIMIT + 1],
        orders.filter(closing_between_q(start, end)).values_list("pk", flat=True)[
            : COUNT_LIMIT + 1
        ],
    ]


# Every list asks these two counts: the statement is built once (orders/prepared.py).
_SMART_COUNTS = PreparedCounts(
    Order, _smart_counted, 2, int, datetime.datetime, datetime.datetime, datetime.datetime
)


def _sortable_headings(filterset):
    """For each sortable column: the sort its heading links to and its current direction."""
    sort = filterset.sort_fields()[0]
    out = {}
    for column, (ascending, descending) in SORTABLE_COLUMNS.items():
        if sort == ascending:
            out[column] = {"next": descending, "current": "ascending"}
        elif sort == descending:
            out[column] = {"next": ascending, "current": "descending"}
        else:
            out[column] = {"next": descending if column != "number" else ascending, "current": ""}
    return out


def _bounded_count(filterset, tiers=None, whole=None):
    """How many orders match, counting no further than COUNT_LIMIT + 1: tier by tier when
    the list has tiers (each answered by its own index, best first, stopping past the
    bound); a tier the page read whole (`whole`, {rank: rows}) is not counted again."""
    if tiers is None:
        return filterset.filtered().order_by()[: COUNT_LIMIT + 1].count()
    total = 0
    for rank, orders, *how in sorted(tiers, key=lambda tier: -tier[0]):
        if whole and rank in whole:
            total += whole[rank]
        elif how and isinstance(how[0], Window):
            total += windowed_count(orders, how[0], COUNT_LIMIT + 1)
        elif how and isinstance(how[0], Keys) and how[0].alone and total == 0:
            # No better tier holds an order and no other filter is in use: the tier is the
            # keys' orders, counted in their own index (a SKU's lines), not order by order.
            # Distinct in the index's order (an order's lines share its key), so the
            # database stops at the bound instead of hashing every line of the SKU first
            # (13 ms for 48,129 lines at ten million orders, 0.3 ms this way).
            keys = how[0]
            ids = keys.keys.order_by(*keys.fields).values_list(*keys.fields).distinct()
            total += ids[: COUNT_LIMIT + 1].count()
        else:
            total += orders.order_by()[: COUNT_LIMIT + 1].count()
        if total > COUNT_LIMIT:
            break
    return total


@login_required
@require_GET
@reads_replica
def order_list(request):
    merchant = access.current_merchant(request)
    if merchant is None:
        return home(request)
    use_merchant_zone(merchant)
    filterset = _filterset(request, merchant)
    number = filterset.exact_number()
    if number:
        url = reverse("order_detail", args=[number])
        if request.htmx:
            return HttpResponseClientRedirect(url)
        return redirect(url)
    counts = status_counts(merchant)
    sort, fields, descending = filterset.sort_fields()
    tiers = filterset.tiers()
    page = keyset_page(
        # Read tier by tier, the page needs no ranking on each row (filtered() has none).
        filterset.qs if tiers is None else filterset.filtered(),
        sort=sort,
        fields=fields,
        descending=descending,
        kinds=filterset.sort_kinds(),
        cursor=request.GET.get("cursor"),
        size=PAGE_SIZE,
        read=read_rows,
        tiers=tiers,
    )
    # The tabs' kept counts answer the status filters; anything else is counted, up to a
    # bound, so a broad search never counts a million rows.
    total = filterset.kept_count(counts)
    total_capped = False
    if total is None and page.start_index <= 1 and not page.has_next:
        total = len(page.object_list)  # everything that matches is on this page
    elif total is None:
        total = _bounded_count(filterset, tiers, page.whole_tiers)
        total_capped = total > COUNT_LIMIT
        total = min(total, COUNT_LIMIT)
    tabs, chips = _tabs(counts, filterset)
    active = [
        {"label": label, "value": value, "remove": _without(request, names)}
        for names, label, value in filterset.active()
    ]
    columns = workspace.chosen_columns(request.user)
    saved = shown_views(request.user, merchant)
    smart, saved_views = _view_counts(request, merchant, counts, saved, filterset.now)
    rows = page.object_list
    attach_details(rows)
    can_manage = access.is_manager(request, merchant)
    context = {
        "merchant": merchant,
        "filter": filterset,
        "page": page,
        "total": total,
        "total_capped": total_capped,
        "tabs": tabs,
        "chips": chips,
        "active_filters": active,
        "can_manage": can_manage,
        "bulk_limit": BULK_LIMIT,
        "query": request.GET.urlencode(),
        "now": filterset.now,
        "views": smart,
        "saved_views": saved_views,
        "current_state": workspace.list_state(request.GET.urlencode()),
        "columns": columns,
        "column_choices": workspace.COLUMNS,
        "sortable": _sortable_headings(filterset),
        "search_text": filterset.search_text() if filterset.is_valid() else "",
        "bulk_actions": [{"name": name, "label": ACTIONS[name].verb} for name in BULK_ACTION_NAMES],
    }
    return _render(
        request, "dashboard/order_list.html", "dashboard/includes/_order_list.html", context
    )
