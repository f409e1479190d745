"""The JSON API for integrations: create orders and read their status.

Authenticated with a merchant's bearer token (`Authorization: Bearer fdk_...`); a token only
ever sees its own merchant's orders (anything else is a 404). These views are exempt from
CSRF because they take no cookies: the token in the header is the credential.
"""

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from orders import audit, hold_detail
from orders.holds import order_complete_personalization
from orders.importing import import_orders, parse_api_order
from orders.models import ROW_REFUSED, Order
from orders.services import ActionRefused, order_submit
from orders.statuses import Status
from orders.text import storable
from orders.tokens import token_authenticate

from . import api_files

log = logging.getLogger("dashboard.api")

MAX_ORDERS_PER_REQUEST = 500
STATUS_BY_OUTCOME = {"created": 201, "reimported": 201, "skipped": 409, ROW_REFUSED: 409}


def _error(status, message, **extra):
    return JsonResponse({"error": message, **extra}, status=status)


def _authenticated(view):
    """Resolve the bearer token to request.api_token, or answer 401."""

    def wrapped(request, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        token = token_authenticate(raw.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            response = _error(
                401, "Missing, unknown or revoked API token. Send 'Authorization: Bearer <token>'."
            )
            response["WWW-Authenticate"] = 'Bearer realm="orders"'
            return response
        request.api_token = token
        audit.note(token=token.prefix)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _only(request, *methods):
    if request.method not in methods:
        response = _error(405, f"Use {' or '.join(methods)} on this URL.")
        response["Allow"] = ", ".join(methods)
        return response
    return None


def order_json(order):
    """What an integration needs to know about an order, in the dashboard's own words."""
    hold = order.hold_info
    return {
        "number": order.number,
        "url": reverse("api_order", args=[order.number]),
        "status": order.group.label,
        "sub_status": order.sub_status_label,
        "state": order.status,
        "hold_reason": order.hold_reason or None,
        "explanation": hold.explanation if hold else order.state.explanation,
        "what_you_can_do": hold.what_you_can_do if hold else order.state.what_you_can_do,
        "note": order.hold_note or order.failure_reason or None,
        "hold": (
            {
                "reason": order.hold_reason,
                "label": hold.label,
                "detail": hold_detail.describe(order.hold_reason, order.hold_detail),
                "data": order.hold_detail or {},
            }
            if hold and order.status == Status.ACTION_REQUIRED
            else None
        ),
        "no_return_by": order.no_return_by.isoformat() if order.no_return_by else None,
        "payment_status": order.payment_status,
        "stuck": order.is_stuck(),
        "late": order.is_late(),
        "created_at": order.created_at.isoformat(),
        "ship_by": order.ship_by.isoformat() if order.ship_by else None,
        "reimport_of_created_at": (
            order.reimport_of.created_at.isoformat() if order.reimport_of_id else None
        ),
        "tracking": {
            "carrier": order.carrier or None,
            "service": order.service or None,
            "tracking_number": order.tracking_number or None,
            "estimated_delivery": (
                order.estimated_delivery.isoformat() if order.estimated_delivery else None
            ),
            "events": [
                {
                    "code": e.code,
                    "description": e.description,
                    "location": e.location,
                    "occurred_at": e.occurred_at.isoformat(),
                }
                for e in order.tracking_events.all()
            ],
        },
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in order.lines.all()],
    }


def _load(merchant, number):
    """The live order with this number (or the latest clean-swept one), of this merchant."""
    return (
        Order.objects.for_merchant(merchant)
        .filter(number=number)
        .select_related("reimport_of")
        .prefetch_related("lines", "tracking_events")
        .order_by("-created_at", "-id")
        .first()
    )


def _errors_by_field(errors):
    fields = {}
    for _row, name, message in errors:
        fields.setdefault(name or "order", []).append(message)
    return fields


@csrf_exempt
@_authenticated
def orders(request):
    """POST one order (an object) or several (a list) for the token's merchant.

    One object: 201 with the order, 409 when it was already imported or was cancelled, 400
    with field errors. A list: 200 with one result per order (the same outcomes).
    """
    refused = _only(request, "POST")
    if refused:
        return refused
    if api_files.wants_file(request):  # a CSV file as is (dashboard/api_files.py)
        return api_files.import_file(request)
    try:
        data = json.loads(request.body or b"null")
    except RequestDataTooBig:
        return _error(413, "The request is too large; send at most a few hundred orders at once.")
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: arrays or objects nested thousands deep.
        return _error(400, "The body is not valid JSON.")
    single = isinstance(data, dict)
    items = [data] if single else data
    if not isinstance(items, list) or not items:
        return _error(400, "Send an order object or a non-empty list of order objects.")
    if len(items) > MAX_ORDERS_PER_REQUEST:
        return _error(400, f"At most {MAX_ORDERS_PER_REQUEST} orders per request.")
    token = request.api_token
    inputs = [
        parse_api_order(item, index, prices_required=True)
        for index, item in enumerate(items, start=1)
    ]
    outcomes = import_orders(merchant=token.merchant, inputs=inputs, by=audit.api_actor(token))
    results = []
    for order_input in inputs:
        mine = [o for o in outcomes if o.row == order_input.row]
        results.append(_result(order_input, mine))
        log.info(
            "api import merchant=%s token=%s number=%s outcome=%s",
            token.merchant.slug,
            token.name,
            storable(order_input.number) or "-",
            results[-1]["outcome"],
        )
    if single:
        result = results[0]
        status = 400 if result["outcome"] == "error" else STATUS_BY_OUTCOME[result["outcome"]]
        return JsonResponse(result, status=status)
    return JsonResponse({"results": results}, status=200)


def _result(order_input, outcomes):
    errors = [o for o in outcomes if o.outcome == "error"]
    if errors:
        return {
            "outcome": "error",
            "number": order_input.number or None,
            "error": "The order has errors; nothing was imported.",
            "errors": _errors_by_field([(o.row, o.field, o.message) for o in errors]),
        }
    outcome = outcomes[0]
    result = {"outcome": outcome.outcome, "number": outcome.number}
    if outcome.ok:
        order = _load(outcome.order.merchant_id, outcome.number)
        result["order"] = order_json(order)
    else:
        result["error"] = outcome.message
        result["order_url"] = reverse("api_order", args=[outcome.number])
    return result


@csrf_exempt
@_authenticated
def order_detail(request, number):
    """GET one order of the token's merchant by its store order number."""
    refused = _only(request, "GET")
    if refused:
        return refused
    order = _load(request.api_token.merchant, number)
    if order is None:
        return _error(404, f"No order {number}.")
    return JsonResponse(order_json(order))


def _order_action(request, number, service, what):
    """POST: apply a merchant service (`service(order=, by=)`) to an order of the token's
    merchant; 404 for a number it does not have, 409 with the reason when refused."""
    refused = _only(request, "POST")
    if refused:
        return refused
    token = request.api_token
    order = Order.objects.for_merchant(token.merchant).visible().filter(number=number).first()
    if order is None:
        return _error(404, f"No order {number}.")
    try:
        service(order=order, by=audit.api_actor(token))
    except ActionRefused as exc:
        return _error(409, exc.message)
    log.info("api %s merchant=%s token=%s number=%s", what, token.merchant.slug, token.name, number)
    return JsonResponse(order_json(_load(token.merchant, number)), status=200)


@csrf_exempt
@_authenticated
def order_submit_view(request, number):
    """POST: submit a draft of the token's merchant for review."""
    return _order_action(request, number, order_submit, "submit")


@csrf_exempt
@_authenticated
def order_personalization_complete_view(request, number):
    """POST: the buyer finished personalising an order of the token's merchant held for
    pending personalization; it goes back to review (orders/holds.py)."""
    return _order_action(
        request, number, order_complete_personalization, "personalization complete"
    )


@csrf_exempt
@_authenticated
def import_detail(request, pk):
    """GET an import of the token's merchant with its report (dashboard/api_files.py)."""
    refused = _only(request, "GET")
    if refused:
        return refused
    return api_files.import_detail(request, pk)
