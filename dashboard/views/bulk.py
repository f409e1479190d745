"""Bulk actions on the order list: confirm with each order's own answer, then act on each
order in its own transaction and list what happened."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from orders import audit
from orders.services import (
    ActionRefused,
    refusal_reason,
)

from .. import access
from ..forms import BulkActionForm
from .common import ACTIONS, SERVICES, _filterset

BULK_LIMIT = 5000


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
            done_word=ACTIONS[action].past,
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
    service = SERVICES[action]
    for order in orders.order_by("number", "id"):
        seen = request.POST.get(f"seen-{order.pk}") or order.status
        try:
            done = service(order=order, by=request.user, expected_status=seen)
            results.append({"order": done, "ok": True, "message": ACTIONS[action].done})
        except ActionRefused as exc:
            results.append({"order": exc.order or order, "ok": False, "message": exc.message})
    if scope == "selected":
        missing = len(set(request.POST.getlist("selected"))) - len(results)
        if missing > 0:
            context["missing"] = missing
    context["results"] = results
    context["done"] = sum(1 for r in results if r["ok"])
    context["refused_count"] = len(results) - context["done"]
    return render(request, "dashboard/bulk_result.html", context)


def _short_reason(why):
    """ "already shipped: can no longer be cancelled" -> "already shipped"."""
    return why.split(":", 1)[0]


def _refused_groups(refused):
    groups = {}
    for item in refused:
        groups.setdefault(_short_reason(item["why"]), []).append(item["order"])
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def bulk_summary(action, can, refused):
    """ "12 of 32 can be cancelled; 20 cannot: 18 already shipped, 2 already printed"."""
    done = ACTIONS[action].past
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
