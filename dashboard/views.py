"""The merchant dashboard. Views parse the request, ask dashboard/access.py what this user
may see, call a QuerySet or a service from orders/, and render. Changes are POST only, go
through orders/services.py and report with the messages framework."""

import csv
import datetime
import io
import json
import re
import zoneinfo
from itertools import chain
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import CharField, OuterRef, Prefetch, Subquery, prefetch_related_objects
from django.db.models.functions import Cast
from django.db.models.sql.constants import MULTI
from django.http import HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dates import MONTHS_3
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from orders import audit, hold_detail
from orders import statuses as st
from orders.addresses import country_name
from orders.carriers import tracking_page, tracking_url
from orders.counts import status_counts
from orders.holds import order_complete_personalization, personalization_refusal
from orders.models import LATE_CANDIDATES, STUCK_AFTER, AddressChange, OrderNote
from orders.notes import views_for
from orders.search import SORTABLE_COLUMNS
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

from . import access, order_page, workspace
from .filters import COUNT_LIMIT, VIEW_ALIASES, VIEW_OWNERS, VIEWS, OrderFilter
from .forms import BULK_ACTION_NAMES, AddressForm, BulkActionForm
from .paging import keyset_page, values_of_each
from .rows import attach_details, read_rows

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


class LoginView(auth_views.LoginView):
    """Sign in; staff land in the admin where they work (a `next` page still wins), merchant
    members on their orders."""

    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        if self.request.user.is_staff:
            return reverse("admin:index")
        return super().get_default_redirect_url()


@login_required
def home(request):
    merchant = access.current_merchant(request)
    if merchant is None:
        if request.user.is_staff:
            return redirect("choose_merchant")
        return render(request, "dashboard/no_merchant.html", status=403)
    # A merchant with anything waiting on them lands where it is.
    if _waiting_on_you(status_counts(merchant)):
        return redirect(f"{reverse('order_list')}?view=waiting_on_you")
    return redirect("order_list")


def _kept(counts, owner):
    """How many orders wait on `owner`, from the kept counts (holds and owned states)."""
    reasons = set(st.reasons_owned_by(owner))
    states = {s for s, o in st.STATE_OWNERS.items() if o == owner}
    return sum(
        n
        for (status, reason), n in counts.items()
        if (status == "action_required" and reason in reasons) or status in states
    )


def _waiting_on_you(counts):
    return _kept(counts, st.YOU)


def use_merchant_zone(merchant):
    """Show times in the merchant's time zone for the rest of this request."""
    try:
        timezone.activate(zoneinfo.ZoneInfo(merchant.time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()


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


def _view_counts(request, merchant, counts, saved, now):
    """The smart views and the saved views, each with its count: kept counts where the view
    is only status filters (and the owners' holds), otherwise at most COUNT_LIMIT + 1 ids,
    all such counts in one statement."""
    chosen = request.GET.get("view", "")
    chosen = VIEW_ALIASES.get(chosen, chosen)
    smart = []
    asked = []
    for value, label in VIEWS:
        item = {"value": value, "label": label, "count": None, "active": chosen == value}
        owner = VIEW_OWNERS.get(value)
        if owner is not None:
            item["count"] = _kept(counts, owner)
            if owner == st.US:  # plus the orders stuck in review, counted up to the bound
                stuck = access.orders_for(request).stuck(now).order_by()
                asked.append((item, stuck.values_list("pk", flat=True)[: COUNT_LIMIT + 1]))
        elif value == "closing_soon":
            # Read from its own small index (the point of no return), bounded like the rest.
            soon = access.orders_for(request).closing_soon(now).order_by()
            asked.append((item, soon.values_list("pk", flat=True)[: COUNT_LIMIT + 1]))
        smart.append(item)
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
                ids = filterset.qs.order_by().values_list("pk", flat=True)[: COUNT_LIMIT + 1]
                asked.append((item, ids))
        views.append(item)
    if asked:
        for (item, _ids), found in zip(asked, values_of_each([q for _i, q in asked]), strict=True):
            total = (item["count"] or 0) + len(found)
            item["capped"] = total > COUNT_LIMIT
            item["count"] = min(total, COUNT_LIMIT)
    return smart, views


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
        return filterset.qs.order_by()[: COUNT_LIMIT + 1].count()
    total = 0
    for rank, orders in sorted(tiers, key=lambda tier: -tier[0]):
        if whole and rank in whole:
            total += whole[rank]
        else:
            total += orders.order_by()[: COUNT_LIMIT + 1].count()
        if total > COUNT_LIMIT:
            break
    return total


@login_required
@require_GET
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
        filterset.qs,
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
    saved = list(views_for(request.user, merchant))
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
        "bulk_actions": [
            {"name": name, "label": ACTIONS[name]["verb"]} for name in BULK_ACTION_NAMES
        ],
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
        # Each order's own answer, from its state machine: who can, who cannot and why.
        eligible, refused = [], []
        for order in orders.select_related("merchant").order_by("number", "id"):
            why = refusal_reason(order, action, request.user)
            if why is None:
                eligible.append(order)
            else:
                refused.append({"order": order, "why": why})
        context.update(
            eligible=eligible,
            summary=bulk_summary(action, len(eligible), refused),
            done_word=DONE_WORDS[action],
            refused_groups=_refused_groups(refused),
            # What is confirmed is the eligible orders, by id: the same orders are acted on
            # even if the filter would match others by then.
            selected=[o.pk for o in eligible],
            seen={k: v for k, v in request.POST.items() if k.startswith("seen-") and len(v) < 40},
        )
        return render(request, "dashboard/bulk_confirm.html", context)
    # The confirmation carried the eligible orders' ids. An order that changed meanwhile (or
    # an id posted by hand) still goes to the service, which refuses it under its row lock and
    # records the attempt in the audit log; nothing else happens to it.
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


def _short_reason(why):
    """ "already shipped: can no longer be cancelled" -> "already shipped"."""
    return why.split(":", 1)[0]


def _refused_groups(refused):
    groups = {}
    for item in refused:
        groups.setdefault(_short_reason(item["why"]), []).append(item["order"])
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


DONE_WORDS = {"cancel": "cancelled", "clean_sweep": "clean swept", "retry": "retried"}


def bulk_summary(action, can, refused):
    """ "12 of 32 can be cancelled; 20 cannot: 18 already shipped, 2 already printed"."""
    done = DONE_WORDS[action]
    total = can + len(refused)
    if not refused:
        return f"All {total} can be {done}." if total != 1 else f"The order can be {done}."
    reasons = ", ".join(f"{len(orders)} {why}" for why, orders in _refused_groups(refused))
    if not can:
        return f"None of the {total} can be {done}: {reasons}."
    return f"{can} of {total} can be {done}; {len(refused)} cannot: {reasons}."


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
    "hold_detail",
    "latest_note",
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
    "hold_detail",
    "latest_note",
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
    texts["latest_note"] = Subquery(
        OrderNote.objects.filter(order=OuterRef("pk")).order_by("-id").values("text")[:1]
    )
    query = queryset.annotate(**texts).values_list(*_EXPORT_VALUES).query
    chunks = query.get_compiler(using=queryset.db).execute_sql(
        MULTI, chunked_fetch=True, chunk_size=EXPORT_CHUNK
    )
    for chunk in chunks:
        for row in chunk:
            (number, created, status, hold, payment, flow, center, name, email, country) = row[:10]
            ship_by, changed, carrier, tracking, detail, note = row[10:16]
            note = note or ""
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
                _hold_text(hold, detail) if hold else "",
                note,
            ]
            # Most rows have no cell that starts like a formula: look at first letters once.
            firsts = number[:1] + center[:1] + name[:1] + email[:1] + country[:1]
            if _FORMULA_FIRST.search(firsts + carrier[:1] + tracking[:1] + url[:1] + note[:1]):
                row = [safe_cell(v) for v in row]
            writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _hold_text(reason, detail):
    """The hold's detail in words (the export reads the stored JSON as text)."""
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            detail = None
    return hold_detail.summary(reason, detail)


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
    note_rows = (
        {
            "kind": "note",
            "when": note.created_at,
            "who": "operations" if note.from_operations else note.author_name,
            "from_operations": note.from_operations,
            "text": note.text,
            "reason": "",
        }
        for note in order.notes.all()
    )
    rows = sorted(
        chain(status_rows, address_rows, note_rows), key=lambda r: r["when"], reverse=True
    )
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
    reasons = []
    # A final order needs no "why not": its status already says it.
    if manager and order.status not in st.FINAL_STATES:
        for name in EXPLAINED:
            if name not in available:
                why = refusal_reason(order, name, request.user)
                if why:
                    reasons.append(f"{ACTIONS[name]['label']}: {why}.")
    now = timezone.now()
    # Prefetched once; the template and the helpers read these lists, not new queries.
    history = list(order.history.all())
    changes = list(order.address_changes.all())
    events = list(order.tracking_events.all())
    lines = list(order.lines.all())
    ways = order_page.ways_out(order, available, manager)
    return {
        "merchant": merchant,
        "order": order,
        "state": order.state,
        "group": order.group,
        "hold": order.hold_info,
        "hold_lines": order_page.hold_lines(order),
        "ways": ways,
        "reasons": reasons,
        "can_manage": manager,
        "timeline": _timeline(order),
        "lines": lines,
        "events": events,
        "tracking": order_page.tracking_summary(order, events, now),
        "tracking_link": tracking_url(order.carrier, order.tracking_number),
        "payment": order_page.payment_panel(order, history),
        "payment_label": st.PAYMENT_LABELS.get(order.payment_status, order.payment_status),
        "no_return": order_page.no_return(order, history, now),
        "fix": order_page.fix_outcome(order, history, now),
        "address_requests": order_page.address_requests(order, changes),
        "country_name": country_name(order.country),
        "now": now,
    }


def _load_order(request, number):
    order = access.get_order_for_user(request, number)
    # One query per related list, however many lines, events and changes there are.
    prefetch_related_objects(
        [order],
        "lines",
        "history",
        "tracking_events",
        "notes",
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
                saved = order_edit_address(order=order, by=request.user, address=address)
                if order.status == "action_required" and saved.status == "import_review":
                    messages.success(
                        request,
                        "Address saved: sent back to review; you will see the result here in "
                        "a few seconds.",
                    )
                else:
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
