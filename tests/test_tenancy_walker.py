"""Tenancy proof: every URL of the dashboard and the API, found from the URL resolver, is
requested with merchant A's real order numbers and batch ids by everyone who must not reach
them (see tests/tenancy.py). The walker must find nothing; planted leaks prove it would."""

import pytest
from django.http import HttpResponse
from django.urls import include, path

from dashboard import access
from dashboard import api as api_views
from orders.formats import park_for_mapping, save_mapping
from orders.importing import create_batch, run_batch
from orders.models import DeliveryAttempt, Order, SavedView, WebhookDelivery, WebhookEndpoint
from orders.notes import order_add_note
from orders.notify import dispatch_events
from orders.services import order_clean_sweep
from orders.tokens import token_create
from orders.tracking import signed_headers
from orders.webhooks.services import new_secret

from . import tenancy
from .dashboard_helpers import hold

VICTIM_CUSTOMERS = [
    ("VICTIM-REVIEW-101", "Zelda Victimova", "zelda.victimova@victim.example", "11 Secretive Lane"),
    ("VICTIM-DRAFT-102", "Yorick Hiddenfield", "yorick.hidden@victim.example", "12 Quietude Road"),
    ("VICTIM-HELD-103", "Xanthe Privatier", "xanthe.private@victim.example", "13 Shrouded Way"),
    ("VICTIM-SHIP-104", "Wendell Coverdale", "wendell.cover@victim.example", "14 Veiled Avenue"),
    ("VICTIM-SWEPT-105", "Vesna Undisclosed", "vesna.undis@victim.example", "15 Masked Court"),
    ("VICTIM #106.x", "Ulrich Confidante", "ulrich.conf@victim.example", "16 Guarded Mews"),
]


@pytest.fixture
def victim(merchant, make_order, drive, staff, manager):
    """Merchant A (Acme) with orders in varied states, an import batch and an API token."""
    orders = []
    for number, name, email, street in VICTIM_CUSTOMERS:
        order = make_order(
            number=number,
            customer_name=name,
            ship_name=name,
            customer_email=email,
            address1=street,
            draft="DRAFT" in number,
        )
        if "HELD" in number:
            order = hold(order, staff)
        elif "SHIP" in number:
            order = drive(order, "shipped")
        elif "SWEPT" in number:
            order = order_clean_sweep(order=order, by=manager)
        orders.append(Order.objects.get(pk=order.pk))
    assert orders[3].tracking_number, "the walker needs a shipped order with a tracking number"
    batch = create_batch(
        merchant=merchant,
        content="order_number,sku,quantity,customer_name\n"
        "VICTIM-BATCH-107,TEE-1,1,Tamsin Batchly\n",
        by=manager,
        filename="victim-orders-2026.csv",
    )
    run_batch(batch.pk)
    orders.append(Order.objects.get(merchant=merchant, number="VICTIM-BATCH-107"))
    # A file waiting for its column mapping, and a mapping saved from an earlier one.
    park_for_mapping(
        merchant=merchant,
        content="Ref No,Item Code,Units\nVICTIM-PARKED-108,TEE-1,1\n",
        by=manager,
        filename="victim-marketplace-export.csv",
    )
    save_mapping(
        merchant=merchant,
        name="Victim Marketplace Mapping",
        headers=["Order Ref", "Item Code", "Units"],
        columns={"order_number": "Order Ref", "sku": "Item Code", "quantity": "Units"},
        by=manager,
    )
    _token, raw = token_create(merchant=merchant, name="Victim shop")
    # Working together: a note on an order, and a shared and a personal saved view.
    order_add_note(order=orders[2], by=manager, text="Quillon Secretnote about the parcel")
    shared = SavedView.objects.create(
        merchant=merchant,
        owner=manager,
        name="Victim shared Vexillum",
        query="q=victim",
        shared=True,
    )
    SavedView.objects.create(
        merchant=merchant, owner=manager, name="Victim personal Wyvern", query="group=draft"
    )
    # A webhook endpoint with deliveries and a logged attempt (created directly: the test
    # machine has no DNS for the name).
    endpoint = WebhookEndpoint.objects.create(
        merchant=merchant,
        url="https://victim-hooks.example.com/acme-private-receiver",
        description="Victim warehouse system",
        secret=new_secret(),
    )
    dispatch_events()
    deliveries = list(WebhookDelivery.objects.filter(endpoint=endpoint))
    DeliveryAttempt.objects.create(
        delivery=deliveries[0], status_code=500, response="victim receiver stack trace"
    )
    return tenancy.Victim(
        merchant=merchant,
        orders=orders,
        batch=batch,
        raw_token=raw,
        saved_view=shared,
        endpoints=[endpoint],
        deliveries=deliveries,
        extra_secrets=[
            "Quillon Secretnote",
            "Victim shared Vexillum",
            "Victim personal Wyvern",
            "victim receiver stack trace",
            "Victim Marketplace Mapping",
            "victim-marketplace-export.csv",
            "VICTIM-PARKED-108",
        ],
    )


@pytest.fixture
def attacker(outsider, other_merchant, make_order):
    """Merchant B's manager and token; B has an order of its own, so its pages have rows."""
    make_order(
        number="OUTSIDER-201",
        target_merchant=other_merchant,
        customer_name="Ottilie Outsider",
        customer_email="ottilie@outsider.example",
    )
    _token, raw = token_create(merchant=other_merchant, name="Outsider shop")
    return tenancy.Attacker(user=outsider, raw_token=raw)


@pytest.mark.slow
def test_no_url_lets_another_merchant_see_or_change_orders(victim, attacker):
    problems, walked, sent = tenancy.walk(victim, attacker)
    assert problems == []
    names = {route.name for route in walked}
    # The walk really covered the dashboard, the intake, the API and the webhook.
    for expected in [
        "order_list",
        "export_csv",
        "order_detail",
        "order_cancel",
        "bulk_action",
        "import_batch",
        "submit_draft",
        "api_orders",
        "api_order",
        "api_order_submit",
        "tracking_webhook",
        "webhook_endpoint",
        "webhook_resend",
        "inbox",
        "inbox_bell",
        "api_webhooks",
        "api_webhook",
        "easypost_webhook",
        "aftership_webhook",
        "import_mapping",
        "import_mapping_forget",
        "import_mappings",
        "api_import",
    ]:
        assert expected in names
    assert sent > 500
    print(f"tenancy walker: {len(walked)} URL patterns, {sent} requests, no problems")


def test_every_skip_has_a_reason_and_only_admin_auth_and_static_are_skipped():
    walked, skipped = tenancy.routes()
    assert walked
    for route, reason in skipped:
        assert reason
        assert route.lstrip("^").startswith(("admin/", "accounts/login/", "accounts/logout/"))
    assert {r for r, _ in skipped} >= {"admin/", "accounts/login/", "accounts/logout/"}


def test_the_walker_values_reach_the_real_pages_for_the_owner(client, victim, manager):
    """The URLs the walker builds are real: A's own manager opens them (so a 404 for B means
    'not yours', not 'no such page')."""
    client.force_login(manager)
    walked, _ = tenancy.routes()
    opened = 0
    for route in walked:
        if route.kind != "session" or not tenancy.url_arguments(route):
            continue
        for url in tenancy.build_urls(route, victim):
            response = client.get(url)
            # Drafts submit by POST only (405); clean-swept orders refuse actions (200 page).
            assert response.status_code in (200, 302, 405), (url, response.status_code)
            opened += response.status_code == 200
    assert opened >= 10


def test_the_walker_requests_work_with_the_right_credentials(client, victim, settings):
    """A's own token reads A's orders and a correctly signed copy of the walker's webhook
    body is applied: so the walker's 401s and 404s come from the credentials alone."""
    headers = {"Authorization": f"Bearer {victim.raw_token}"}
    shipped = victim.orders[3]
    response = client.get(f"/api/v1/orders/{shipped.number}", headers=headers)
    assert response.status_code == 200
    assert response.json()["number"] == shipped.number
    body = tenancy.webhook_body(shipped)
    response = client.post(
        "/webhooks/tracking/",
        data=body,
        content_type="application/json",
        headers=signed_headers(settings.TRACKING_WEBHOOK_SECRET, body),
    )
    assert response.status_code == 200
    assert Order.objects.get(pk=shipped.pk).status == "delivered"


# --- proof that the walker can fail ------------------------------------------------------------


def _any_merchants_order(request, number):
    order = Order.objects.select_related("merchant").filter(number=number).first()
    if order is None:
        raise access.Http404("No such order.")
    return order


def test_walker_reports_a_dashboard_that_shows_every_merchants_orders(
    victim, attacker, monkeypatch
):
    monkeypatch.setattr(access, "orders_for", lambda request: Order.objects.all())
    # The order page reads its order by merchant and number in one built statement: leak it
    # the same way, any merchant's order by its number.
    monkeypatch.setattr(access, "get_order_for_user", _any_merchants_order)
    # The two pages whose reports are checked below (the whole walk is the test above).
    only = {"order_list", "order_detail"}
    problems, _walked, _sent = tenancy.walk(victim, attacker, only=only)
    text = "\n".join(problems)
    assert "/orders/: response shows 'VICTIM-REVIEW-101'" in text
    assert "GET /orders/VICTIM-REVIEW-101/: answered 200, not a refusal" in text


def test_walker_reports_an_api_that_ignores_the_tokens_merchant(victim, attacker, monkeypatch):
    real = api_views._load
    monkeypatch.setattr(api_views, "_load", lambda merchant, number: real(victim.merchant, number))
    problems, _walked, _sent = tenancy.walk(victim, attacker, only={"api_order"})
    assert any(
        p.startswith("merchant B's token GET /api/v1/orders/VICTIM-SHIP-104: answered 200")
        for p in problems
    ), problems


def test_walker_reports_a_foreign_string_in_a_refusal(victim, attacker, monkeypatch):
    """A refusal that names someone else's customer is a leak too."""
    real = api_views._error

    def leaky(status, message, **extra):
        return real(status, f"{message} (see {victim.orders[0].customer_name})", **extra)

    monkeypatch.setattr(api_views, "_error", leaky)
    problems, _walked, _sent = tenancy.walk(victim, attacker, only={"api_order"})
    assert any(
        p.startswith("no token GET /api/v1/orders/VICTIM-DRAFT-102: response shows 'Zelda")
        for p in problems
    ), problems


def test_walker_reports_an_import_that_reveals_a_foreign_number(victim, attacker, monkeypatch):
    """Judging B's import against A's orders would tell B which numbers A has."""
    from orders.importing import importer

    real = importer._existing_orders
    monkeypatch.setattr(
        importer, "_existing_orders", lambda merchant, numbers: real(victim.merchant, numbers)
    )
    problems, _walked, _sent = tenancy.walk(victim, attacker, only={"api_orders"})
    assert any(
        "importing A's number VICTIM-REVIEW-101 answered 409 'skipped'" in p for p in problems
    ), problems


def _widget(request, widget_id):
    return HttpResponse("widget")


def _careless_touch(request, number):
    """A planted bug: changes any merchant's order of that number, then says 'not found'."""
    Order.objects.filter(number=number).update(city="Walkerville")
    return HttpResponse("no such order", status=404)


urlpatterns = [
    path("", include("dashboard.urls")),
    path("widgets/<int:widget_id>/", _widget, name="widget"),
    path("orders/<number:number>/touch/", _careless_touch, name="careless_touch"),
]


def test_walker_reports_a_request_that_changes_the_victims_orders(victim, attacker, settings):
    """A refusal is not enough: a request that changed A's data is reported (the walk takes
    its snapshot of A after every request that wrote anything)."""
    settings.ROOT_URLCONF = __name__
    problems, _walked, _sent = tenancy.walk(victim, attacker, only={"careless_touch"})
    assert any(
        p.startswith("anonymous GET /orders/VICTIM-REVIEW-101/touch/: changed merchant A's data")
        for p in problems
    ), problems


def test_walker_fails_on_a_url_it_cannot_build(victim, attacker, settings):
    """A new URL with an argument the walker does not know makes the walk fail."""
    settings.ROOT_URLCONF = __name__
    problems, _walked, _sent = tenancy.walk(victim, attacker, only={"widget"})
    assert any(
        "widgets/<int:widget_id>/: the tenancy walker cannot build a value" in p for p in problems
    ), problems


# --- the admin, walked as staff ------------------------------------------------------------------


@pytest.mark.slow
def test_every_admin_url_answers_staff_without_a_500(victim, staff, products):
    problems, walked, sent = tenancy.walk_admin(victim, staff)
    assert problems == []
    names = {route.name for route in walked}
    for expected in [
        "orders_order_changelist",
        "orders_order_change",
        "orders_order_transition",
        "orders_inventorylevel_change",
        "auth_user_changelist",
        "app_list",
        "view_on_site",
    ]:
        assert expected in names
    assert sent > 500
    print(f"admin walker: {len(walked)} URL patterns, {sent} requests as staff, no 500")


def test_admin_walker_reports_a_500(victim, staff, monkeypatch):
    from orders.admin import OrderAdmin

    def broken(self, request, *args, **kwargs):
        raise RuntimeError("planted")

    monkeypatch.setattr(OrderAdmin, "get_object", broken)
    problems, _walked, _sent = tenancy.walk_admin(victim, staff, only={"orders_order_history"})
    assert any("/history/: server error 500" in p for p in problems), problems


def test_admin_walker_fails_on_an_admin_url_it_cannot_build(victim, staff, monkeypatch):
    monkeypatch.delitem(tenancy.ADMIN_ARGUMENTS, "transition_name")
    problems, _walked, _sent = tenancy.walk_admin(victim, staff, only={"orders_order_transition"})
    assert any("cannot build a value for <transition_name>" in p for p in problems), problems
