"""What the dashboard's pages share: the merchant-facing actions, rendering a page or its
htmx piece, the merchant's time zone, the list's filter and the kept counts of who waits."""

import zoneinfo

from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from orders import statuses as st
from orders.holds import order_complete_personalization, personalization_refusal
from orders.services import (
    order_cancel,
    order_clean_sweep,
    order_retry,
)

from .. import access
from ..filters import OrderFilter

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


def _filterset(request, merchant):
    return OrderFilter(
        request.GET,
        queryset=access.orders_for(request),
        now=timezone.now(),
        merchant=merchant,
    )
