"""What the dashboard's pages share: the merchant-facing actions, rendering a page or its
htmx piece, the merchant's time zone, the list's filter and the kept counts of who waits."""

import zoneinfo

from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from orders import statuses as st
from orders.holds import order_complete_personalization, personalization_refusal
from orders.models.queryset import count_owned
from orders.services import (
    order_cancel,
    order_clean_sweep,
    order_retry,
)
from orders.statuses import Action

from .. import access
from ..filters import OrderFilter

# The merchant's actions: their words are the catalog's (orders/statuses.py), the service
# each runs is here (the order page's URL for each: dashboard/order_page.py).
ACTIONS = st.MERCHANT_ACTION_BY_NAME
SERVICES = {
    Action.CANCEL: order_cancel,
    Action.CLEAN_SWEEP: order_clean_sweep,
    Action.RETRY: order_retry,
    Action.COMPLETE_PERSONALIZATION: order_complete_personalization,
}
# Why an action would be refused where the state machine alone cannot say: completing the
# personalization is not a transition of its own.
REFUSALS = {
    Action.COMPLETE_PERSONALIZATION: (
        lambda order, _name, user: personalization_refusal(order, user)
    ),
}


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
    return count_owned(counts, owner)


def _waiting_on_you(counts):
    return count_owned(counts, st.YOU)


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
