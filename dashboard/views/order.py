"""The order page, its actions (cancel, clean sweep, retry, personalization complete) and
the address form."""

from itertools import chain

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import router
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.views.decorators.http import require_GET, require_http_methods

from orders import statuses as st
from orders.addresses import country_name
from orders.carriers import tracking_url
from orders.holds import order_actions
from orders.models import AddressChange, OrderLine, OrderNote, StatusChange, TrackingEvent
from orders.prepared import Prepared, keep_related
from orders.services import (
    ActionRefused,
    OrderChanged,
    order_edit_address,
    order_request_address_change,
    refusal_reason,
)
from orders.statuses import Status

from .. import access, order_page
from ..forms import AddressForm
from .common import ACTIONS, REFUSALS, SERVICES, _render, use_merchant_zone

# Missing buttons for these are explained in one line on the order page.
EXPLAINED = [a.name for a in st.MERCHANT_ACTIONS if a.explain_missing]


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
    available = order_actions(order, request.user)
    manager = access.is_manager(request, merchant)
    reasons = []
    # A final order needs no "why not": its status already says it.
    if manager and order.status not in st.FINAL_STATES:
        for name in EXPLAINED:
            if name not in available:
                why = refusal_reason(order, name, request.user)
                if why:
                    reasons.append(f"{ACTIONS[name].label}: {why}.")
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


def _of_order(model):
    return Prepared(
        model, lambda order_id: model.objects.filter(order_id=order_id), int, objects=True
    )


# The order page's related lists, each read with a statement built once (orders/prepared.py).
_RELATED = {
    "lines": _of_order(OrderLine),
    "history": _of_order(StatusChange),
    "tracking_events": _of_order(TrackingEvent),
    "notes": _of_order(OrderNote),
}


def _load_order(request, number):
    order = access.get_order_for_user(request, number)
    use_merchant_zone(order.merchant)  # times in the zone the header names
    # One query per related list, however many lines, events and changes there are, kept
    # where `order.lines.all()` and the like find them, as prefetch_related() keeps them.
    for name, read in _RELATED.items():
        keep_related(order, name, read(order.pk))
    keep_related(order, "address_changes", _address_changes(order.pk))
    return order


_CHANGE_FIELDS = [field.attname for field in AddressChange._meta.concrete_fields]
# The address changes with the username of who asked for each (all the page shows of them).
_ADDRESS_CHANGES = Prepared(
    AddressChange,
    lambda order_id: AddressChange.objects.filter(order_id=order_id).values_list(
        *_CHANGE_FIELDS, f"requested_by__{get_user_model().USERNAME_FIELD}"
    ),
    int,
)


def _address_changes(order_id):
    """The order's address changes, each with `requested_by` holding its username only
    (the user's other fields load if something asks for them)."""
    alias = router.db_for_read(AddressChange)
    User = get_user_model()
    names = [User._meta.pk.attname, User.USERNAME_FIELD]
    changes = []
    for *fields, username in _ADDRESS_CHANGES(order_id):
        change = AddressChange.from_db(alias, _CHANGE_FIELDS, fields)
        if change.requested_by_id is not None:
            change.requested_by = User.from_db(alias, names, [change.requested_by_id, username])
        changes.append(change)
    return changes


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
        why = REFUSALS.get(action, refusal_reason)(order, action, request.user)
        if seen != order.status:
            why = f"the order changed meanwhile: it is now {order.state.label}"
        context = {"order": order, "action": action, "info": info, "why": why, "seen": seen}
        if request.htmx:
            return render(request, "dashboard/includes/_confirm.html", context)
        return render(request, "dashboard/confirm.html", context)
    expected = request.POST.get("expected_status") or None
    try:
        done = SERVICES[action](
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
    messages.success(request, f"Order {done.number} {info.done}.")
    if done.status == Status.CLEAN_SWEPT:
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
    if not order.address_changeable:
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
                if order.status == Status.ACTION_REQUIRED and saved.status == Status.IMPORT_REVIEW:
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
