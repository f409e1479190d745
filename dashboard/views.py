"""The merchant dashboard. Views parse the request, ask dashboard/access.py what this user
may see, call a QuerySet or a service from orders/, and render. Changes are POST only, go
through orders/services.py and report with the messages framework."""

import csv
import datetime
import io
import re
from itertools import chain
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import CharField, Prefetch, prefetch_related_objects
from django.db.models.functions import Cast
from django.db.models.sql.constants import MULTI
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dates import MONTHS_3
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from orders import audit
from orders import statuses as st
from orders.carriers import tracking_page, tracking_url
from orders.counts import status_counts
from orders.holds import order_complete_personalization, personalization_refusal
from orders.models import LATE_CANDIDATES, STUCK_AFTER, AddressChange
from orders.services import (
    ActionRefused,
    OrderChanged,
    order_cancel,
    order_clean_sweep,
    order_edit_address,
    order_request_address_change,
    order_retry,
    refusal_reason,
)
from orders.text import FORMULA_START, safe_cell

from . import access
from .filters import COUNT_LIMIT, VIEWS, OrderFilter
from .forms import AddressForm, BulkActionForm
from .paging import keyset_page, values_of_each
from .rows import read_rows

PAGE_SIZE = 50
BULK_LIMIT = 5000
EXPORT_CHUNK = 2000

# The merchant-facing actions: what each does, in the words the confirmation uses.
ACTIONS = {
    "cancel": {
        "label": "Cancel order",
        "verb": "Cancel",
        "service": order_cancel,
        "consequence": "The order will not be fulfilled, and importing the same order number "
        "again will be refused. A pending payment is cancelled; a paid one is refunded.",
        "done": "cancelled",
        "danger": True,
    },
    "clean_sweep": {
        "label": "Clean sweep",
        "verb": "Clean sweep",
        "service": order_clean_sweep,
        "consequence": "The order leaves the dashboard without being cancelled, so the same "
        "order number can be imported again later (as a new order).",
        "done": "clean swept: it left the dashboard",
        "danger": False,
    },
    "retry": {
        "label": "Retry",
        "verb": "Retry",
        "service": order_retry,
        "consequence": "The order goes back to Import Review and is checked again. If the "
        "problem is still there it comes back to Action Required.",
        "done": "sent back to review",
        "danger": False,
    },
    # Not a transition of its own: it completes the lines, then retries (orders/holds.py).
    "complete_personalization": {
        "label": "Mark personalization complete",
        "verb": "Mark personalization complete for",
        "service": order_complete_personalization,
        "consequence": "Do this once the buyer has finished personalising. Every item's "
        "personalization is marked complete and the order goes back to Import Review.",
        "done": "is marked as personalized and went back to review",
        "danger": False,
        "refusal": lambda order, _name, user: personalization_refusal(order, user),
    },
}
URL_NAMES = {
    "cancel": "order_cancel",
    "clean_sweep": "order_clean_sweep",
    "retry": "order_retry",
    "complete_personalization": "order_complete_personalization",
}
# Missing buttons for these are explained in one line on the order page.
EXPLAINED = ["cancel", "clean_sweep"]


def _render(request, full, fragment, context):
    """The whole page, or just the piece htmx swaps. A history restore needs the page."""
    htmx = request.htmx
    wants_fragment = htmx and not htmx.boosted and not htmx.history_restore_request
    response = render(request, fragment if wants_fragment else full, context)
    # The same URL answers with a page or a piece: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- signing in and choosing a merchant ------------------------------------------------------


@login_required
def home(request):
    if access.current_merchant(request) is None:
        if request.user.is_staff:
            return redirect("choose_merchant")
        return render(request, "dashboard/no_merchant.html", status=403)
    return redirect("order_list")


@login_required
@require_http_methods(["GET", "POST"])
def choose_merchant(request):
    if request.method == "POST":
        merchant = access.set_current_merchant(request, request.POST.get("merchant", ""))
        if merchant is None:
            messages.error(request, "You cannot view that merchant.")
        else:
            messages.success(request, f"Now viewing {merchant.name}.")
            return redirect("order_list")
    return render(
        request,
        "dashboard/choose_merchant.html",
        {"choices": access.merchant_choices(request)},
    )


# --- the order list ----------------------------------------------------------------------------


def _filterset(request, merchant):
    return OrderFilter(
        request.GET,
        queryset=access.orders_for(request),
        now=timezone.now(),
        merchant=merchant,
    )


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
    if chosen == "action_required":
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


def _bounded_count(filterset, page):
    """How many orders match, counting no further than COUNT_LIMIT + 1. A search's terms
    that fit on the first page are already known whole."""
    branches = filterset.search_count_branches(page.complete)
    if branches is None:
        return filterset.qs.order_by()[: COUNT_LIMIT + 1].count()
    known = page.complete or [None] * len(branches)
    ids = set()
    asked = []
    for branch, whole in zip(branches, known, strict=True):
        if whole is not None:
            ids.update(whole)
        elif hasattr(branch, "count_ids"):  # filters.SkuBranch
            ids.update(branch.count_ids(COUNT_LIMIT + 1))
        else:
            asked.append(branch.order_by().values_list("pk", flat=True)[: COUNT_LIMIT + 1])
    for found in values_of_each(asked):
        ids.update(found)
    return len(ids)


@login_required
@require_GET
def order_list(request):
    merchant = access.current_merchant(request)
    if merchant is None:
        return home(request)
    filterset = _filterset(request, merchant)
    number = filterset.exact_number()
    number = number and filterset.jump_number(number)  # "ab-1001" finds AB-1001 too
    if number:
        url = reverse("order_detail", args=[number])
        if request.htmx:
            return HttpResponseClientRedirect(url)
        return redirect(url)
    counts = status_counts(merchant)
    sort, fields, descending = filterset.sort_fields()
    page = keyset_page(
        filterset.qs,
        sort=sort,
        fields=fields,
        descending=descending,
        kinds=filterset.sort_kinds(),
        cursor=request.GET.get("cursor"),
        size=PAGE_SIZE,
        branches=filterset.search_branches(),
        base=filterset.unsearched,
        read=read_rows,
    )
    # The tabs' kept counts answer the status filters; anything else is counted, up to a
    # bound, so a broad search never counts a million rows.
    total = filterset.kept_count(counts)
    total_capped = False
    if total is None and page.start_index <= 1 and not page.has_next:
        total = len(page.object_list)  # everything that matches is on this page
    elif total is None:
        total = _bounded_count(filterset, page)
        total_capped = total > COUNT_LIMIT
        total = min(total, COUNT_LIMIT)
    tabs, chips = _tabs(counts, filterset)
    active = [
        {"label": label, "value": value, "remove": _without(request, names)}
        for names, label, value in filterset.active()
    ]
    context = {
        "merchant": merchant,
        "filter": filterset,
        "page": page,
        "total": total,
        "total_capped": total_capped,
        "tabs": tabs,
        "chips": chips,
        "active_filters": active,
        "can_manage": access.is_manager(request, merchant),
        "bulk_limit": BULK_LIMIT,
        "query": request.GET.urlencode(),
        "now": filterset.now,
        "views": [{"value": v, "label": label} for v, label in VIEWS],
    }
    return _render(
        request, "dashboard/order_list.html", "dashboard/includes/_order_list.html", context
    )


# --- bulk actions ----------------------------------------------------------------------------


@login_required
@require_POST
def bulk_action(request):
    """Cancel or clean sweep selected orders, or all matching the list's filter (the filter
    comes in the query string). First POST asks for confirmation; the confirmed POST acts on
    each order in its own transaction and lists what happened to each."""
    merchant = access.require_merchant(request)
    access.require_manager(request, merchant)
    back = f"{reverse('order_list')}?{request.GET.urlencode()}"
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("__all__", []) or [
            f"{k}: {' '.join(v)}" for k, v in form.errors.items()
        ]:
            messages.error(request, error)
        return HttpResponseRedirect(back)
    action = form.cleaned_data["action"]
    scope = form.cleaned_data["scope"]
    if scope == "all":
        filterset = _filterset(request, merchant)
        if not filterset.is_valid():
            # Ignoring a bad filter here would act on more orders than the user chose.
            messages.error(request, "Fix the filter first: nothing was done.")
            _bulk_refused(request, merchant, action, "the filter has errors")
            return HttpResponseRedirect(back)
        orders = filterset.qs
    else:
        orders = access.orders_for(request).filter(pk__in=form.cleaned_data["selected"])
    total = orders.count()
    if total > BULK_LIMIT:
        messages.error(
            request,
            f"{total:,} orders match: bulk actions work on at most {BULK_LIMIT:,} at a time. "
            "Narrow the filter (for example by created date) and try again. Nothing was done.",
        )
        _bulk_refused(request, merchant, action, f"{total} orders match, over {BULK_LIMIT}")
        return HttpResponseRedirect(back)
    context = {
        "action": action,
        "info": ACTIONS[action],
        "scope": scope,
        "total": total,
        "query": request.GET.urlencode(),
        "back": back,
    }
    if not form.cleaned_data["confirmed"]:
        context["selected"] = form.cleaned_data["selected"] if scope == "selected" else []
        context["seen"] = {k: v for k, v in request.POST.items() if k.startswith("seen-")}
        return render(request, "dashboard/bulk_confirm.html", context)
    results = []
    service = ACTIONS[action]["service"]
    for order in orders.order_by("number", "id"):
        seen = request.POST.get(f"seen-{order.pk}") or order.status
        try:
            done = service(order=order, by=request.user, expected_status=seen)
            results.append({"order": done, "ok": True, "message": ACTIONS[action]["done"]})
        except ActionRefused as exc:
            results.append({"order": exc.order or order, "ok": False, "message": exc.message})
    if scope == "selected":
        missing = len(set(request.POST.getlist("selected"))) - len(results)
        if missing > 0:
            context["missing"] = missing
    context["results"] = results
    context["done"] = sum(1 for r in results if r["ok"])
    context["refused"] = len(results) - context["done"]
    return render(request, "dashboard/bulk_result.html", context)


def _bulk_refused(request, merchant, action, reason):
    """A bulk action refused as a whole; once it runs, the service records each order."""
    audit.record(
        f"bulk_{action}", by=request.user, merchant=merchant, outcome=audit.REFUSED, reason=reason
    )


# --- CSV export --------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "order_number",
    "created_at",
    "status",
    "sub_status",
    "hold_reason",
    "payment_status",
    "flow",
    "fulfillment_center",
    "customer_name",
    "customer_email",
    "ship_to_country",
    "ship_by",
    "stuck",
    "late",
    "carrier",
    "tracking_number",
    "tracking_url",
]


_FORMULA_FIRST = re.compile("[" + re.escape("".join(FORMULA_START)) + "]")


# What the export reads: plain values in one query (no model instances, no per-row queries).
# Times are read as the database's text and rewritten as ISO 8601: converting a million
# timestamps to datetimes and back costs more than the rest of the export together.
_EXPORT_TIMES = {
    "created_text": "created_at",
    "ship_by_text": "ship_by",
    "changed_text": "status_changed_at",
}
_EXPORT_VALUES = [
    "number",
    "created_text",
    "status",
    "hold_reason",
    "payment_status",
    "flow",
    "center__code",
    "customer_name",
    "customer_email",
    "country",
    "ship_by_text",
    "changed_text",
    "carrier",
    "tracking_number",
]


def _export_rows(queryset, now):
    """The CSV in pieces of EXPORT_CHUNK rows. Rows come straight from the database cursor
    (server-side on PostgreSQL, fetched lazily on SQLite) as plain tuples, so memory stays
    flat however many orders match and no model or converter runs per row; labels come from
    the status catalog. Text a person or a store typed goes through safe_cell."""
    group_label = {s.value: st.GROUP_BY_VALUE[s.group].label for s in st.STATES}
    state_label = {s.value: s.label for s in st.STATES}
    hold_label = {h.value: h.label for h in st.HOLD_REASONS}
    flow_label = dict(st.FLOW_CHOICES)
    payment_label = st.PAYMENT_LABELS
    late_states = frozenset(LATE_CANDIDATES)
    stuck_before = now - STUCK_AFTER
    pages = {}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    texts = {name: Cast(field, CharField()) for name, field in _EXPORT_TIMES.items()}
    query = queryset.annotate(**texts).values_list(*_EXPORT_VALUES).query
    chunks = query.get_compiler(using=queryset.db).execute_sql(
        MULTI, chunked_fetch=True, chunk_size=EXPORT_CHUNK
    )
    for chunk in chunks:
        for row in chunk:
            (number, created, status, hold, payment, flow, center, name, email, country) = row[:10]
            ship_by, changed, carrier, tracking = row[10:14]
            center = center or ""
            ship_by = _iso_utc(ship_by)
            url = ""
            parcel = tracking.strip()
            if parcel:
                page = pages.get(carrier)
                if page is None:
                    page = pages[carrier] = tracking_page(carrier)
                url = page.format(number=parcel if parcel.isalnum() else quote(parcel, safe=""))
            stuck = status == "import_review" and _when(_iso_utc(changed)) < stuck_before
            late = ship_by and status in late_states and _when(ship_by) < now
            row = [
                number,
                _iso_utc(created),
                group_label.get(status, status),
                # The sub-status the dashboard shows (Order.sub_status_label): on hold, why.
                (status == "action_required" and hold_label.get(hold))
                or state_label.get(status, status),
                hold_label.get(hold, ""),
                payment_label.get(payment, payment),
                flow_label.get(flow, flow),
                center,
                name,
                email,
                country,
                ship_by,
                "yes" if stuck else "",
                "yes" if late else "",
                carrier,
                tracking,
                url,
            ]
            # Most rows have no cell that starts like a formula: look at first letters once.
            firsts = number[:1] + center[:1] + name[:1] + email[:1] + country[:1]
            if _FORMULA_FIRST.search(firsts + carrier[:1] + tracking[:1] + url[:1]):
                row = [safe_cell(v) for v in row]
            writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _iso_utc(text):
    """A UTC time as the database writes it as text ("2026-06-02 09:13:19.41+00" on
    PostgreSQL, "2026-06-02 09:13:19.410000" on SQLite), written the way datetime.isoformat()
    writes the aware value: "2026-06-02T09:13:19.410000+00:00". "" for no time."""
    if not text:
        return ""
    if text.endswith("+00"):
        body = text[:-3]
    elif len(text) <= 26 and "+" not in text[10:] and "-" not in text[10:]:
        body = text
    else:  # another zone or format: let the datetime module do it
        parsed = datetime.datetime.fromisoformat(text)
        return parsed.astimezone(datetime.UTC).isoformat()
    head, dot, fraction = body.partition(".")
    if dot and fraction.strip("0"):
        head = f"{head}.{fraction.ljust(6, '0')}"
    return head.replace(" ", "T", 1) + "+00:00"


def _when(iso):
    return datetime.datetime.fromisoformat(iso)


@login_required
@require_GET
def export_csv(request):
    merchant = access.require_merchant(request)
    filterset = _filterset(request, merchant)
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, "Fix the filter before exporting.")
        return HttpResponseRedirect(f"{reverse('order_list')}?{request.GET.urlencode()}")
    now = timezone.now()
    response = StreamingHttpResponse(
        _export_rows(filterset.qs, now), content_type="text/csv; charset=utf-8"
    )
    filename = f"orders-{merchant.slug}-{now:%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- the order page ----------------------------------------------------------------------------


def _readable_reason(reason):
    """A hold is recorded with its reason code; merchants read the label."""
    hold = st.hold_reason(reason)
    return hold.label if hold else reason


def _timeline(order):
    """History rows and address changes, newest first, as one list for the template."""
    status_rows = (
        {
            "kind": "payment" if change.field == "payment_status" else "status",
            "when": change.created_at,
            "who": change.actor_name,
            "source": change.source_label if change.source else "",
            "target": change.target_label,
            "transition": change.transition.replace("_", " "),
            "reason": _readable_reason(change.reason),
        }
        for change in order.history.all()
    )
    address_rows = (
        {
            "kind": "address",
            "when": change.created_at,
            "who": change.requested_by.get_username() if change.requested_by else "system",
            "applied": change.applied,
            "address": ", ".join(v for v in change.address.values() if v),
            "reason": change.note,
        }
        for change in order.address_changes.all()
    )
    rows = sorted(chain(status_rows, address_rows), key=lambda r: r["when"], reverse=True)
    for row in rows:
        # What the template's date filters "c" and "M j, Y H:i" wrote, for every row
        # without the formatting machinery (the page lists dozens of rows).
        when = timezone.localtime(row["when"])
        row["when_iso"] = when.isoformat()
        row["when_text"] = f"{MONTHS_3[when.month].title()} {when.day}, {when:%Y %H:%M}"
    return rows


def _order_context(request, order):
    merchant = order.merchant
    available = {t.name for t in order.get_available_user_status_transitions(request.user)}
    manager = access.is_manager(request, merchant)
    if manager and personalization_refusal(order, request.user) is None:
        # A plain retry would only be held again while the items are not complete.
        available = (available - {"retry"}) | {"complete_personalization"}
    buttons = [
        {
            "name": name,
            "label": info["label"],
            "danger": info["danger"],
            "url": reverse(URL_NAMES[name], args=[order.number]),
        }
        for name, info in ACTIONS.items()
        if name in available
    ]
    reasons = []
    # A final order needs no "why not": its status already says it.
    if manager and order.status not in st.FINAL_STATES:
        for name in EXPLAINED:
            if name not in available:
                why = refusal_reason(order, name, request.user)
                if why:
                    reasons.append(f"{ACTIONS[name]['label']}: {why}.")
    address_action = None
    if manager and order.status != "clean_swept" and order.status not in st.FINAL_STATES:
        address_action = "edit" if order.address_editable else "request"
    # Prefetched once; the template and the timeline read these lists, not new queries.
    return {
        "merchant": merchant,
        "order": order,
        "state": order.state,
        "group": order.group,
        "hold": order.hold_info,
        "buttons": buttons,
        "reasons": reasons,
        "can_manage": manager,
        "address_action": address_action,
        "timeline": _timeline(order),
        "lines": list(order.lines.all()),
        "events": list(order.tracking_events.all()),
        "tracking_link": tracking_url(order.carrier, order.tracking_number),
        "payment_label": st.PAYMENT_LABELS.get(order.payment_status, order.payment_status),
        "now": timezone.now(),
    }


def _load_order(request, number):
    order = access.get_order_for_user(request, number)
    # One query per related list, however many lines, events and changes there are.
    prefetch_related_objects(
        [order],
        "lines",
        "history",
        "tracking_events",
        Prefetch("address_changes", AddressChange.objects.select_related("requested_by")),
    )
    return order


@login_required
@require_GET
def order_detail(request, number):
    order = _load_order(request, number)
    context = _order_context(request, order)
    return _render(
        request, "dashboard/order_detail.html", "dashboard/includes/_order_detail.html", context
    )


@login_required
@require_http_methods(["GET", "POST"])
def order_action(request, number, action):
    """GET: the confirmation (a page, or a fragment for htmx) stating the consequence.
    POST: apply it through the service, passing the status the user saw."""
    order = access.get_order_for_user(request, number)
    access.require_manager(request, order.merchant)
    info = ACTIONS[action]
    detail = reverse("order_detail", args=[order.number])
    if request.method == "GET":
        seen = request.GET.get("seen") or order.status
        why = info.get("refusal", refusal_reason)(order, action, request.user)
        if seen != order.status:
            why = f"the order changed meanwhile: it is now {order.state.label}"
        context = {"order": order, "action": action, "info": info, "why": why, "seen": seen}
        if request.htmx:
            return render(request, "dashboard/includes/_confirm.html", context)
        return render(request, "dashboard/confirm.html", context)
    expected = request.POST.get("expected_status") or None
    try:
        done = info["service"](
            order=order,
            by=request.user,
            # The note lands in a history row; PostgreSQL cannot store NUL characters.
            note=request.POST.get("note", "").replace("\x00", "")[:500],
            expected_status=expected,
        )
    except OrderChanged as exc:
        messages.warning(request, exc.message)
        return redirect(detail)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return redirect(detail)
    messages.success(request, f"Order {done.number} {info['done']}.")
    if done.status == "clean_swept":
        return redirect("order_list")
    return redirect(detail)


@login_required
@require_http_methods(["GET", "POST"])
def order_address(request, number):
    """Edit the address while the order can still be cancelled; afterwards, record a change
    request (shown as requested, not guaranteed)."""
    order = access.get_order_for_user(request, number)
    access.require_manager(request, order.merchant)
    request_only = not order.address_editable
    detail = reverse("order_detail", args=[order.number])
    if order.status == "clean_swept" or order.status in st.FINAL_STATES:
        messages.error(request, f"Order {order.number} is {order.state.label}: nothing to change.")
        return redirect(detail)
    form = AddressForm(
        request.POST or None,
        instance=order,
        request_only=request_only,
        initial=order.address_dict(),
    )
    if request.method == "POST" and form.is_valid():
        address = {k: v for k, v in form.cleaned_data.items() if k != "note"}
        try:
            if request_only:
                order_request_address_change(
                    order=order, by=request.user, address=address, note=form.cleaned_data["note"]
                )
                messages.success(
                    request,
                    "Address change requested. Our staff will try, but it is not guaranteed.",
                )
            else:
                order_edit_address(order=order, by=request.user, address=address)
                messages.success(request, "Address saved.")
            return redirect(detail)
        except ActionRefused as exc:
            for field, error in (getattr(exc, "errors", None) or {}).items():
                form.add_error(field if field in form.fields else None, error)
            if not getattr(exc, "errors", None):
                messages.error(request, exc.message)
                return redirect(detail)
    return render(
        request,
        "dashboard/address_form.html",
        {"order": order, "form": form, "request_only": request_only},
    )


# --- status guide ------------------------------------------------------------------------------


@login_required
@require_GET
def status_guide(request):
    groups = [
        {"group": g, "states": [st.state(s) for s in st.STATES_BY_GROUP[g.value]]}
        for g in st.GROUPS
    ]
    return render(
        request,
        "dashboard/status_guide.html",
        {
            "groups": groups,
            "holds": st.HOLD_REASONS,
            "payments": st.PAYMENT_STATUSES,
            "merchant": access.current_merchant(request),
        },
    )
