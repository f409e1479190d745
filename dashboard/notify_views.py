"""Telling merchants, the merchant side: webhook endpoints (settings pages and the JSON API),
each member's e-mail choices, and the inbox with its bell.

Every view asks dashboard/access.py for the merchant: another merchant's endpoint or
delivery is a 404; managing endpoints is for managers (a viewer's POST is a 403). E-mail
choices and read marks are the member's own, so every member may change those.
"""

import functools
import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from orders import events as ev
from orders import notify
from orders.event_models import EMAIL_CHOICES
from orders.webhooks.models import FAILING, WebhookDelivery, WebhookEndpoint
from orders.webhooks.services import (
    EndpointRefused,
    delivery_resend,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)

from . import access
from .api import _authenticated, _error, _only


def _token_api(view):
    """The JSON API's bearer-token check (dashboard/api.py), keeping this view's name."""
    return functools.update_wrapper(_authenticated(view), view)


SECRET_SESSION_KEY = "webhook_secret_shown_once"
DELIVERIES_SHOWN = 50


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=500,
        help_text="Where we POST events. Must be https and reachable from the internet.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/fulfillment"}),
    )
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=ev.EVENT_TYPES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event type.",
    )


def _endpoint_for(request, pk):
    """This merchant's endpoint, or 404 (another merchant's endpoint included)."""
    merchant = access.require_merchant(request)
    return get_object_or_404(WebhookEndpoint, pk=pk, merchant=merchant), merchant


def _show_secret_once(request, endpoint, secret):
    request.session[SECRET_SESSION_KEY] = {"pk": endpoint.pk, "secret": secret}


# --- endpoints -----------------------------------------------------------------------------


@login_required
def endpoints(request):
    merchant = access.require_merchant(request)
    is_manager = access.is_manager(request, merchant)
    form = EndpointForm(request.POST or None)
    if request.method == "POST":
        access.require_manager(request, merchant)
        if form.is_valid():
            try:
                endpoint, secret = endpoint_create(merchant=merchant, **form.cleaned_data)
            except EndpointRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                _show_secret_once(request, endpoint, secret)
                messages.success(request, f"Endpoint added: {endpoint.url}")
                return redirect("webhook_endpoint", pk=endpoint.pk)
    rows = WebhookEndpoint.objects.filter(merchant=merchant).order_by("created_at", "id")
    return render(
        request,
        "dashboard/webhooks/endpoints.html",
        {"endpoints": rows, "form": form, "is_manager": is_manager},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def endpoint_detail(request, pk):
    endpoint, merchant = _endpoint_for(request, pk)
    is_manager = access.is_manager(request, merchant)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST":
        access.require_manager(request, merchant)
        if form.is_valid():
            try:
                endpoint_update(
                    endpoint=endpoint,
                    url=form.cleaned_data["url"],
                    event_types=form.cleaned_data["event_types"],
                )
            except EndpointRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, "Endpoint saved.")
                return redirect("webhook_endpoint", pk=endpoint.pk)
    shown = request.session.get(SECRET_SESSION_KEY)
    secret = None
    if shown and shown.get("pk") == endpoint.pk:
        secret = shown["secret"]
        del request.session[SECRET_SESSION_KEY]
    deliveries = list(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .prefetch_related("tries")
        .order_by("-created_at", "-id")[:DELIVERIES_SHOWN]
    )
    return render(
        request,
        "dashboard/webhooks/endpoint.html",
        {
            "endpoint": endpoint,
            "form": form,
            "secret": secret,
            "deliveries": deliveries,
            "is_manager": is_manager,
            "failing": endpoint.state == FAILING,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def endpoint_action(request, pk, action):
    endpoint, merchant = _endpoint_for(request, pk)
    access.require_manager(request, merchant)
    if action == "test":
        endpoint_send_test(endpoint=endpoint)
        messages.success(request, "Test event queued: it appears in the delivery log below.")
    elif action == "rotate":
        endpoint, secret = endpoint_rotate_secret(endpoint=endpoint)
        _show_secret_once(request, endpoint, secret)
        messages.success(request, "New secret made. The old one also signs for the next 24 hours.")
    elif action == "toggle":
        enable = endpoint.state == "disabled"
        endpoint_update(endpoint=endpoint, enabled=enable)
        messages.success(request, "Endpoint enabled." if enable else "Endpoint disabled.")
    elif action == "delete":
        endpoint.delete()
        messages.success(request, f"Endpoint removed: {endpoint.url}")
        return redirect("webhook_endpoints")
    else:
        raise Http404("No such action.")
    return redirect("webhook_endpoint", pk=endpoint.pk)


@login_required
@require_POST
def delivery_resend_view(request, pk, delivery_pk):
    endpoint, merchant = _endpoint_for(request, pk)
    access.require_manager(request, merchant)
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_pk, endpoint=endpoint)
    delivery_resend(delivery=delivery)
    messages.success(request, f"{delivery.event_type} queued to be sent again ({delivery.msg_id}).")
    return redirect("webhook_endpoint", pk=endpoint.pk)


# --- e-mail choices ------------------------------------------------------------------------


@login_required
def notification_settings(request):
    merchant = access.require_merchant(request)
    role = access.role(request, merchant)
    if request.method == "POST":
        valid = {value for value, _ in EMAIL_CHOICES}
        chosen = {kind: request.POST.get(kind) for kind in ev.TYPE_NAMES}
        bad = [
            kind for kind, choice in chosen.items() if choice is not None and choice not in valid
        ]
        if bad:
            messages.error(request, "Choose immediately, daily digest or never for each event.")
        else:
            notify.set_email_choices(request.user, merchant, {k: c for k, c in chosen.items() if c})
            messages.success(request, "E-mail choices saved.")
            return redirect("notification_settings")
    choices = notify.email_choices(request.user, merchant, role)
    rows = [(kind, label, choices[kind]) for kind, label in ev.EVENT_TYPES]
    return render(
        request,
        "dashboard/notifications.html",
        {"rows": rows, "email_choices": EMAIL_CHOICES, "has_email": bool(request.user.email)},
    )


# --- inbox ---------------------------------------------------------------------------------

INBOX_PAGE = 50


@login_required
def inbox(request):
    merchant = access.require_merchant(request)
    kind = request.GET.get("kind", "")
    events = notify.inbox_events(request.user, merchant)
    if kind:
        if kind not in ev.TYPE_NAMES:
            messages.error(request, "Unknown event kind: showing all events.")
            kind = ""
        else:
            events = events.filter(type=kind)
    page = Paginator(events.order_by("-id"), INBOX_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    unread = notify.unread_ids(request.user, merchant, rows)
    return render(
        request,
        "dashboard/inbox.html",
        {
            "page": page,
            "rows": [(e, e.pk in unread) for e in rows],
            "kinds": ev.EVENT_TYPES,
            "kind": kind,
            "unread_total": notify.unread_count(request.user, merchant),
        },
    )


@login_required
@require_POST
def inbox_read(request):
    merchant = access.require_merchant(request)
    if request.POST.get("all"):
        notify.mark_read(request.user, merchant)
    else:
        ids = [int(v) for v in request.POST.getlist("event") if v.isdigit() and len(v) < 19]
        notify.mark_read(request.user, merchant, ids)
    back = reverse("inbox")
    kind = request.POST.get("kind", "")
    if kind in ev.TYPE_NAMES:
        back += f"?kind={kind}"
    return redirect(back)


@login_required
@require_GET
def inbox_bell(request):
    """The header's bell (polled by htmx) and, beside it, the failing-endpoint banner."""
    merchant = access.current_merchant(request)
    count = notify.unread_count(request.user, merchant) if merchant else 0
    failing = (
        list(WebhookEndpoint.objects.filter(merchant=merchant, state=FAILING)[:3])
        if merchant
        else []
    )
    return render(
        request,
        "dashboard/includes/_bell.html",
        {"count": count, "cap": notify.UNREAD_CAP, "failing": failing, "polled": True},
    )


# --- the JSON API --------------------------------------------------------------------------


def endpoint_json(endpoint, secret=None):
    data = {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "state": endpoint.state,
        "created_at": endpoint.created_at.isoformat(),
    }
    if secret:
        data["secret"] = secret
    return data


@csrf_exempt
@_token_api
def api_endpoints(request):
    """GET: this merchant's endpoints. POST {url, event_types?, description?}: add one; the
    answer carries its signing secret, this once."""
    refused = _only(request, "GET", "POST")
    if refused:
        return refused
    merchant = request.api_token.merchant
    if request.method == "GET":
        rows = WebhookEndpoint.objects.filter(merchant=merchant).order_by("id")
        return JsonResponse({"endpoints": [endpoint_json(e) for e in rows]})
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "The body must be a JSON object.")
    if not isinstance(data, dict):
        return _error(400, "The body must be a JSON object.")
    types = data.get("event_types") or []
    if not isinstance(types, list) or not isinstance(data.get("url", ""), str):
        return _error(400, "url must be a string and event_types a list of event names.")
    try:
        endpoint, secret = endpoint_create(
            merchant=merchant,
            url=data.get("url", ""),
            event_types=types,
            description=str(data.get("description", ""))[:200],
        )
    except EndpointRefused as exc:
        return _error(400, exc.message, field=exc.field)
    return JsonResponse(endpoint_json(endpoint, secret), status=201)


@csrf_exempt
@_token_api
def api_endpoint(request, pk):
    """GET one endpoint; DELETE removes it. Another merchant's endpoint is a 404."""
    endpoint = WebhookEndpoint.objects.filter(pk=pk, merchant=request.api_token.merchant).first()
    if endpoint is None:
        return _error(404, "No such endpoint.")
    refused = _only(request, "GET", "DELETE")
    if refused:
        return refused
    if request.method == "DELETE":
        endpoint.delete()
        return JsonResponse({"deleted": pk})
    return JsonResponse(endpoint_json(endpoint))
