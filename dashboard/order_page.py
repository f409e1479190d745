"""The pieces of the order page beyond its status: the ways out of a hold (primary first,
destructive last), the point of no return, the payment panel, the outcome of a fix, the
pending address change and the tracking summary. Each reads what the view already loaded
(history, address changes, events), so the page's query count stays constant."""

import datetime

from django.urls import reverse
from django.utils import timezone

from orders import hold_detail
from orders import statuses as st
from orders.addresses import country_name
from orders.deadlines import point_of_no_return, time_left
from orders.models import FulfillmentCenter, Order
from orders.statuses import Action, Hold, Payment, Status
from orders.tracking import EVENT_CODES

AWAITING_SCAN_FLAG = datetime.timedelta(days=3)
FIX_OUTCOME_WINDOW = datetime.timedelta(minutes=30)


def _local(moment, fmt):
    """A time in the request's zone (the merchant's), with the zone's abbreviation."""
    local = timezone.localtime(moment)
    return f"{local.strftime(fmt)} {local.tzname()}"


# Transitions a merchant's fix sends an order back to review with.
FIXES = {"retry", "submit", "approve", "release"}


def ways_out(order, available, manager):
    """The buttons and links that resolve this order's situation, in the order a merchant
    should try them: the fix for the hold first, then retry, clean sweep, and cancel last.
    Each is {name, label, url, kind: "link" | "confirm" | "post", style}."""
    number = order.number
    out = []
    if not manager:
        return out
    reason = order.hold_reason if order.status == Status.ACTION_REQUIRED else ""
    if reason == Hold.INVALID_ADDRESS and order.address_editable:
        out.append(_link("edit_address", "Edit address", reverse("order_address", args=[number])))
    if reason in (Hold.NOT_CONNECTED, Hold.PRODUCT_CONFIGURATION):
        out.append(_link("products", "Fix in Products", _products_url(order)))
    if Action.COMPLETE_PERSONALIZATION in available:
        out.append(_confirm(Action.COMPLETE_PERSONALIZATION, order, "primary"))
    if order.status == Status.DRAFT and "submit" in available:
        out.append(
            {
                "name": "submit",
                "label": "Submit for review",
                "url": reverse("submit_draft", args=[number]),
                "kind": "post",
                "style": "primary",
            }
        )
    if Action.RETRY in available and reason != Hold.PENDING_PERSONALIZATION:
        style = "" if out else "primary"
        out.append(_confirm(Action.RETRY, order, style))
    if order.address_editable:
        if reason != Hold.INVALID_ADDRESS:  # otherwise it is already the first way out
            label = "Edit draft address" if order.status == Status.DRAFT else "Edit address"
            out.append(_link("edit_address", label, reverse("order_address", args=[number])))
    elif order.address_changeable:
        url = reverse("order_address", args=[number])
        out.append(_link("request_address", "Request address change", url))
    if Action.CLEAN_SWEEP in available:
        out.append(_confirm(Action.CLEAN_SWEEP, order, ""))
    if Action.CANCEL in available:
        out.append(_confirm(Action.CANCEL, order, "danger"))
    return out


def _link(name, label, url, style=""):
    return {"name": name, "label": label, "url": url, "kind": "link", "style": style}


# The page that confirms and applies each of the merchant's actions (dashboard/urls.py).
ACTION_URLS = {
    Action.CANCEL: "order_cancel",
    Action.CLEAN_SWEEP: "order_clean_sweep",
    Action.RETRY: "order_retry",
    Action.COMPLETE_PERSONALIZATION: "order_complete_personalization",
}


def _confirm(name, order, style):
    url = f"{reverse(ACTION_URLS[name], args=[order.number])}?seen={order.status}"
    label = st.MERCHANT_ACTION_BY_NAME[name].label
    return {"name": name, "label": f"{label}…", "url": url, "kind": "confirm", "style": style}


def _products_url(order):
    detail = order.hold_detail or {}
    if detail.get("unmapped_ship_option"):
        return f"{reverse('products')}?option={detail['unmapped_ship_option']}#mapping-form"
    return reverse("products")


def fix_outcome(order, history, now):
    """After a merchant's fix: what happens next while review runs, then the real outcome.
    None when the order's last change was not a fix followed by review (recently)."""
    status_rows = [h for h in history if h.field == "status"]
    if not status_rows:
        return None
    last = status_rows[-1]
    if last.transition in FIXES and now - last.created_at < FIX_OUTCOME_WINDOW:
        return {
            "waiting": True,
            "text": f"Sent back to review at {_local(last.created_at, '%H:%M')} ({last.transition} "
            f"by {last.actor_name}): you will see the result here in a few seconds.",
        }
    if len(status_rows) >= 2:
        fix = status_rows[-2]
        if fix.transition in FIXES and now - last.created_at < FIX_OUTCOME_WINDOW:
            if last.transition == "accept":
                text = f"Checked again after your fix: accepted. {last.reason}".strip()
                return {"waiting": False, "ok": True, "text": text + "."}
            if last.transition == "hold":
                hold = st.hold_reason(order.hold_reason)
                label = hold.label.lower() if hold else "a new reason"
                return {
                    "waiting": False,
                    "ok": False,
                    "text": f"Checked again after your fix: held again for {label}. "
                    "The details below say what is still wrong.",
                }
    return None


def no_return(order, history, now):
    """The point-of-no-return line for the page, or None."""
    center = order.center
    if center is None and order.status in (
        Status.DRAFT,
        Status.IMPORT_REVIEW,
        Status.ACTION_REQUIRED,
    ):
        center = _likely_center(order)
    found = point_of_no_return(order, now, history=history, center=center)
    if found is None:
        return None
    view = {"open": found.open, "event": found.event, "certain": found.certain}
    if found.open and found.at:
        view.update(
            at=found.at,
            at_iso=found.at.isoformat(),
            at_text=_local(found.at, "%a %H:%M"),
            left=time_left(found.at - now),
            why_estimate=found.why_estimate,
            soon=found.closing_soon(now),
        )
    elif found.open and found.started:
        view.update(started_text=_local(found.started, "%a %H:%M"))
    elif not found.open and found.at:
        view.update(since_text=_local(found.at, "%a %b %-d, %H:%M"))
    view["can_request"] = not found.open and order.address_changeable
    return view


def _likely_center(order):
    """The facility review would most likely choose (the customer's country first): one
    query, only for orders not yet accepted."""
    able = {"handles_print": True} if order.flow == st.PRINT else {"handles_stock": True}
    centers = list(FulfillmentCenter.objects.filter(**able).order_by("code")[:20])
    centers.sort(key=lambda c: (c.country != order.country, c.code))
    return centers[0] if centers else None


def payment_panel(order, history):
    rows = [
        {
            "when": h.created_at,
            "source": h.source_label if h.source else "",
            "target": h.target_label,
            "who": h.actor_name,
            "reason": h.reason,
        }
        for h in history
        if h.field == "payment_status"
    ]
    rows.reverse()
    return {
        "label": st.PAYMENT_LABELS.get(order.payment_status, order.payment_status),
        "is_refused": order.payment_status == Payment.REFUSED,
        "history": rows,
    }


def address_requests(order, changes):
    """Change requests made after the point of no return, newest first, each with what
    became of it: done (the order's address is now the requested one), not possible (the
    order was delivered or returned first), or pending."""
    current = {k: v for k, v in order.address_dict().items() if v}
    out = []
    for change in changes:
        if change.applied:
            continue
        requested = {k: v for k, v in change.address.items() if v}
        if requested == current:
            outcome, tone = "done: the address was changed", "ok"
        elif order.status in (Status.DELIVERED, Status.RETURNED, Status.CANCELLED):
            outcome, tone = f"not possible: the order was {order.state.label.lower()} first", "bad"
        else:
            outcome, tone = "pending: our staff are trying, not guaranteed", "waiting"
        lines = [requested.get(k, "") for k in ("ship_name", "address1", "address2", "city")]
        locality = " ".join(
            p for p in [requested.get("postal_code", ""), requested.get("region", "")] if p
        )
        lines.append(locality)
        lines.append(country_name(requested.get("country", "")))
        out.append(
            {
                "when": change.created_at,
                "lines": [line for line in lines if line],
                "outcome": outcome,
                "tone": tone,
                "note": change.note,
            }
        )
    return out


def tracking_summary(order, events, now):
    """One line that agrees with the status, and the problems to flag."""
    latest = events[0] if events else None
    summary = {
        "problem": "",
        "flag": "",
        "eta": None,
        "lagging": [],
        "problem_events": [e.pk for e in events if EVENT_CODES.get(e.code) == "exception"],
    }
    if order.status == Status.DELIVERY_EXCEPTION:
        described = latest.description or latest.code if latest else ""
        summary["problem"] = (
            "The carrier could not deliver"
            + (f": {described}." if described else ".")
            + " It may try again, hold it for pickup, or return it; the carrier's page has details."
        )
    elif order.status == Status.RETURNED:
        summary["problem"] = "The parcel is on its way back or back with us."
    if order.status == Status.SHIPPED and now - order.status_changed_at > AWAITING_SCAN_FLAG:
        days = (now - order.status_changed_at).days
        summary["flag"] = (
            f"No carrier scan for {days} days since hand-over: longer than usual. Contact "
            "support if it does not move soon."
        )
    for event in events:
        eta = getattr(event, "estimated_delivery", None)
        if eta:
            summary["eta"] = eta
            break
    rank = st.TRACKING_RANK.get(order.status)
    if rank is not None:
        for event in events:
            name = EVENT_CODES.get(event.code)
            target = _TARGETS.get(name)
            if target and st.TRACKING_RANK.get(target, -1) > rank:
                summary["lagging"].append(event.pk)
    return summary


# The state each status transition leads to, as the state machine declares it.
_TARGETS = {t.name: t.target for t in Order._meta.get_field("status").get_all_transitions(Order)}


def hold_lines(order):
    return hold_detail.of_order(order)
