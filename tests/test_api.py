"""The JSON API: bearer tokens (hashed, revocable, per merchant), creating orders with the
reimport rules, reading an order, and the error answers (400/401/404/405/409)."""

import hashlib
import io
import json
import logging

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from orders.models import ApiToken, Order, StatusChange
from orders.services import order_cancel
from orders.tokens import token_create, token_revoke
from tests.conftest import PASSWORD, US_ADDRESS

ORDERS_URL = "/api/v1/orders"


def payload(number="A-1", **extra):
    return {
        "number": number,
        "customer_name": "Ava Smith",
        "customer_email": "ava@example.com",
        **US_ADDRESS,
        "ship_option": "Standard",
        "lines": [{"sku": "TEE-1", "quantity": 2, "unit_price": "19.99"}],
        **extra,
    }


@pytest.fixture
def token(merchant):
    return token_create(merchant=merchant, name="Shop")


@pytest.fixture
def api(token):
    raw = token[1]
    client = Client(enforce_csrf_checks=True)  # the API must work without a CSRF token

    def call(method, url, data=None, raw_token=raw):
        headers = {"Authorization": f"Bearer {raw_token}"} if raw_token else {}
        body = json.dumps(data) if data is not None and not isinstance(data, str) else data
        return getattr(client, method)(
            url, data=body, content_type="application/json", headers=headers
        )

    return call


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Token abc", "Bearer ", "Bearer fdk_not-a-real-token"])
def test_missing_or_unknown_token_is_401(merchant, products, header):
    headers = {"Authorization": header} if header else {}
    response = Client().post(
        ORDERS_URL, json.dumps(payload()), content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "API token" in response.json()["error"]
    assert Order.objects.count() == 0


def test_revoked_token_stops_working(api, token, products):
    token_revoke(token=token[0])
    assert api("post", ORDERS_URL, payload()).status_code == 401
    assert api("get", reverse("api_order", args=["A-1"])).status_code == 401
    assert Order.objects.count() == 0


def test_token_is_stored_only_as_a_hash(token):
    row, raw = token
    assert raw.startswith("fdk_") and len(raw) > 40
    stored = ApiToken.objects.get(pk=row.pk)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {stored.key_hash, stored.prefix, stored.name}


def test_command_creates_a_token_and_prints_it_once(merchant):
    out = io.StringIO()
    call_command("create_api_token", "--merchant", "acme", "--name", "ERP", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(name="ERP")
    assert token.merchant == merchant
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()


def test_staff_create_a_token_in_the_admin_and_see_it_once(client, staff, merchant):
    client.login(username=staff.username, password=PASSWORD)
    response = client.post(
        reverse("admin:orders_apitoken_add"),
        {"merchant": merchant.pk, "name": "Shopify"},
        follow=True,
    )
    token = ApiToken.objects.get(name="Shopify")
    shown = [str(m) for m in response.context["messages"]]
    raw = next(w for m in shown for w in m.split() if w.startswith("fdk_"))
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.created_by == staff
    page = client.get(reverse("admin:orders_apitoken_change", args=[token.pk]))
    assert raw.encode() not in page.content


def test_staff_revoke_tokens_in_the_admin(client, staff, token):
    client.login(username=staff.username, password=PASSWORD)
    client.post(
        reverse("admin:orders_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token[0].pk]},
    )
    assert ApiToken.objects.get(pk=token[0].pk).revoked_at is not None


# --- creating orders -----------------------------------------------------------------------


def test_post_one_order_creates_and_reviews_it(
    api, merchant, products, centers, caplog, django_capture_on_commit_callbacks
):
    with (
        caplog.at_level(logging.INFO, logger="dashboard.api"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = api("post", ORDERS_URL, payload())
    assert response.status_code == 201
    body = response.json()
    assert body["outcome"] == "created"
    order = Order.objects.get(number="A-1")
    assert order.merchant == merchant
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("TEE-1", 2)]
    history = StatusChange.objects.filter(order=order, field="status").first()
    assert (history.transition, history.actor_name) == ("import", "api: Shop")
    # the review runs once the import is committed (here: when the test's callbacks run)
    assert body["order"]["status"] == "Import Review"
    assert order.status == "processing"
    assert "merchant=acme token=Shop number=A-1 outcome=created" in caplog.text


def test_post_a_list_answers_per_order(api, products, make_order):
    make_order(number="DUP-1")
    response = api(
        "post",
        ORDERS_URL,
        [
            payload("L-1"),
            payload("DUP-1"),
            payload("L-2", lines=[{"sku": "TEE-1", "quantity": 0, "unit_price": "5"}]),
        ],
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["created", "skipped", "error"]
    assert results[2]["errors"] == {
        "lines[0].quantity": ["'0' is not a whole number from 1 to 10000."]
    }
    assert set(Order.objects.values_list("number", flat=True)) == {"L-1", "DUP-1"}


def test_already_imported_is_409(api, products, make_order):
    make_order(number="A-1")
    response = api("post", ORDERS_URL, payload())
    assert response.status_code == 409
    assert response.json()["error"] == "already imported"
    assert Order.objects.filter(number="A-1").count() == 1


def test_cancelled_is_409_and_not_reimported(api, products, make_order, manager):
    order_cancel(order=make_order(number="A-1"), by=manager)
    response = api("post", ORDERS_URL, payload())
    assert response.status_code == 409
    assert response.json()["error"] == "cancelled: not reimported"
    assert Order.objects.filter(number="A-1").count() == 1


def test_field_errors_are_400_with_messages(api, products):
    response = api(
        "post",
        ORDERS_URL,
        payload(
            number="",
            customer_email="nope",
            lines=[{"sku": "", "quantity": "x", "unit_price": "1"}],
        ),
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"number", "customer_email", "lines[0].sku", "lines[0].quantity"}
    assert Order.objects.count() == 0


def test_order_without_lines_is_400(api, products):
    response = api("post", ORDERS_URL, payload(lines=[]))
    assert response.status_code == 400
    assert response.json()["errors"] == {"lines": ["At least one line is required."]}


@pytest.mark.parametrize("body", ["{not json", "[]", "42", '"x"'])
def test_bad_bodies_are_400(api, body):
    response = api("post", ORDERS_URL, body)
    assert response.status_code == 400
    assert "error" in response.json()


def test_too_many_orders_at_once_is_400(api, products):
    response = api("post", ORDERS_URL, [payload(f"M-{n}") for n in range(501)])
    assert response.status_code == 400
    assert Order.objects.count() == 0


def test_wrong_method_is_405_json(api):
    response = api("get", ORDERS_URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"]


def test_draft_by_api_then_submit(api, products, centers, django_capture_on_commit_callbacks):
    response = api("post", ORDERS_URL, payload(draft=True))
    assert response.status_code == 201
    assert response.json()["order"]["state"] == "draft"
    with django_capture_on_commit_callbacks(execute=True):
        response = api("post", reverse("api_order_submit", args=["A-1"]))
    assert response.status_code == 200
    order = Order.objects.get(number="A-1")
    assert order.status == "processing"
    row = StatusChange.objects.get(order=order, transition="submit")
    assert row.actor_name == "api: Shop"


def test_submitting_a_non_draft_is_409(api, products, make_order):
    make_order(number="A-1")
    response = api("post", reverse("api_order_submit", args=["A-1"]))
    assert response.status_code == 409
    assert Order.objects.get(number="A-1").status == "import_review"


# --- reading orders ------------------------------------------------------------------------


def test_get_order_shows_status_explanation_and_tracking(api, make_order, drive):
    order = drive(make_order(number="G-1"), "shipped")
    response = api("get", reverse("api_order", args=["G-1"]))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["sub_status"], body["state"]) == (
        "Shipped",
        order.sub_status_label,
        "shipped",
    )
    assert body["explanation"] == order.state.explanation
    assert body["tracking"]["tracking_number"] == "1Z999AA10123456784"
    assert body["tracking"]["carrier"] == "UPS"


def test_get_held_order_explains_the_hold(api, make_order, staff):
    from orders.services import order_transition

    order = make_order(number="H-1")
    order_transition(order=order, name="hold", by=staff, params={"reason": "invalid_address"})
    body = api("get", reverse("api_order", args=["H-1"])).json()
    assert (body["status"], body["sub_status"], body["hold_reason"]) == (
        "Action Required",
        "Invalid address",
        "invalid_address",
    )
    assert "Edit the address" in body["what_you_can_do"]


def test_another_merchants_order_is_404(api, other_merchant, make_order):
    make_order(number="THEIRS-1", target_merchant=other_merchant)
    assert api("get", reverse("api_order", args=["THEIRS-1"])).status_code == 404
    assert api("post", reverse("api_order_submit", args=["THEIRS-1"])).status_code == 404


def test_unknown_order_is_404(api, merchant):
    response = api("get", reverse("api_order", args=["NOPE"]))
    assert response.status_code == 404
    assert response.json()["error"] == "No order NOPE."


def test_token_of_another_merchant_creates_for_its_own_merchant(
    other_merchant, merchant, products, make_order
):
    make_order(number="SAME-1")
    _row, raw = token_create(merchant=other_merchant, name="Globex shop")
    response = Client().post(
        ORDERS_URL,
        json.dumps(payload("SAME-1")),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201
    assert Order.objects.filter(number="SAME-1", merchant=other_merchant).count() == 1
    assert Order.objects.filter(number="SAME-1", merchant=merchant).count() == 1
