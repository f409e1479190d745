"""Smaller gaps on the merchant side (issue 12, point 8): no buttons a viewer cannot use, the
export's sub-status as the dashboard shows it, API orders without prices, a declined order's
payment, and a lower-case order number in the search box."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.test import Client

from orders.models import Order, StatusChange
from orders.services import order_transition
from orders.tokens import token_create

from .conftest import US_ADDRESS
from .dashboard_helpers import hold, login

# --- a viewer sees nothing that would end in 403 -----------------------------------------------


def test_viewer_has_no_new_order_link_form_or_submit_buttons(client, viewer, make_order):
    make_order(number="D-1", draft=True)
    login(client, viewer)
    listing = client.get("/orders/").content.decode()
    assert 'href="/new-order/"' not in listing
    page = client.get("/new-order/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "D-1" in body  # the drafts stay readable
    assert 'name="submit_now"' not in body
    assert 'name="save_draft"' not in body
    assert "/drafts/D-1/submit/" not in body
    assert "only managers can create or submit orders" in body


def test_manager_has_the_link_the_form_and_the_submit_buttons(client, manager, make_order):
    make_order(number="D-1", draft=True)
    login(client, manager)
    assert 'href="/new-order/"' in client.get("/orders/").content.decode()
    body = client.get("/new-order/").content.decode()
    assert 'name="submit_now"' in body
    assert 'action="/drafts/D-1/submit/"' in body


# --- the export's sub-status -----------------------------------------------------------------


def test_export_sub_status_is_the_hold_reason_as_the_dashboard_shows_it(
    client, manager, make_order, staff
):
    held = hold(make_order(number="HELD"), staff, "invalid_address")
    make_order(number="NEW")
    login(client, manager)
    response = client.get("/orders/export.csv")
    data = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    rows = {row[0]: dict(zip(data[0], row, strict=True)) for row in data[1:]}
    assert rows["HELD"]["status"] == "Action Required"
    assert rows["HELD"]["sub_status"] == Order.objects.get(pk=held.pk).sub_status_label
    assert rows["HELD"]["sub_status"] == "Invalid address"
    assert rows["NEW"]["sub_status"] == "Import Review"
    # The list shows the same words.
    listing = client.get("/orders/", {"group": "action_required"}).content.decode()
    assert "Invalid address" in listing


# --- API orders without prices, and a declined order's payment ---------------------------------


@pytest.fixture
def api(merchant, products):
    _token, raw = token_create(merchant=merchant, name="Shop")

    def post(body):
        return Client().post(
            "/api/v1/orders",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )

    return post


def _order(number, lines, **extra):
    return {
        "number": number,
        "ship_name": "Ava Smith",
        **US_ADDRESS,
        "ship_option": "Standard",
        "lines": lines,
        **extra,
    }


def test_api_order_without_prices_is_a_clear_error_not_a_zero_total(api):
    response = api(_order("NP-1", [{"sku": "TEE-1", "quantity": 2}], payment="paid"))
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "lines[0].unit_price": [
            "The price per unit is required when the order has no total (0 for a free item)."
        ]
    }
    assert not Order.objects.filter(number="NP-1").exists()


def test_api_order_with_a_total_or_prices_is_taken(api):
    with_total = api(_order("NP-2", [{"sku": "TEE-1", "quantity": 2}], total="30.00"))
    assert with_total.status_code == 201
    assert Order.objects.get(number="NP-2").total == Decimal("30.00")
    priced = api(_order("NP-3", [{"sku": "TEE-1", "quantity": 2, "unit_price": "12.50"}]))
    assert priced.status_code == 201
    assert Order.objects.get(number="NP-3").total == Decimal("25.00")


def _declined(order, staff):
    held = order_transition(
        order=order, name="hold", by="review", params={"reason": "pending_approval"}
    )
    order_transition(order=held, name="decline", by=staff)
    return Order.objects.get(pk=order.pk)


def test_declining_a_paid_free_order_settles_its_payment_as_cancelling_does(api, staff, manager):
    for number in ["FREE-1", "FREE-2"]:
        response = api(
            _order(number, [{"sku": "TEE-1", "quantity": 1, "unit_price": "0"}], payment="paid")
        )
        assert response.status_code == 201
    declined = _declined(Order.objects.get(number="FREE-1"), staff)
    assert (declined.status, declined.payment_status) == ("cancelled", "refunded")
    assert declined.refunded_amount == Decimal("0")
    change = StatusChange.objects.filter(order=declined, field="payment_status").last()
    assert (change.source, change.target) == ("paid", "refunded")
    cancelled = order_transition(
        order=Order.objects.get(number="FREE-2"), name="cancel", by=manager
    )
    assert Order.objects.get(pk=cancelled.pk).payment_status == declined.payment_status


def test_declining_a_paid_order_refunds_it_and_a_pending_one_is_cancelled(make_order, staff):
    paid = make_order(number="P-1", total=Decimal("40.00"))
    paid = order_transition(order=paid, name="mark_paid", by=staff)
    declined = _declined(paid, staff)
    assert (declined.payment_status, declined.refunded_amount) == ("refunded", Decimal("40.00"))
    pending = _declined(make_order(number="P-2", total=Decimal("40.00")), staff)
    assert pending.payment_status == "canceled"


def test_staff_cannot_refund_zero_of_a_paid_order(make_order, staff):
    from orders.services import ActionRefused

    paid = order_transition(order=make_order(total=Decimal("40.00")), name="mark_paid", by=staff)
    with pytest.raises(ActionRefused, match="positive amount"):
        order_transition(order=paid, name="refund", by=staff, params={"amount": "0"})
    assert Order.objects.get(pk=paid.pk).payment_status == "paid"


# --- a lower-case order number in the search box ----------------------------------------------


def test_a_lower_case_exact_order_number_jumps_to_the_order(client, manager, make_order):
    make_order(number="AB-1001")
    make_order(number="AB-10012")
    login(client, manager)
    for typed in ["AB-1001", "ab-1001", " Ab-1001 "]:
        response = client.get("/orders/", {"q": typed})
        assert response.status_code == 302, typed
        assert response["Location"] == "/orders/AB-1001/"
    htmx = client.get("/orders/", {"q": "ab-1001"}, headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == "/orders/AB-1001/"


def test_a_number_two_orders_spell_in_different_cases_shows_the_list(client, manager, make_order):
    make_order(number="ab-7")
    make_order(number="AB-7")
    login(client, manager)
    assert client.get("/orders/", {"q": "ab-7"})["Location"] == "/orders/ab-7/"  # exact
    response = client.get("/orders/", {"q": "Ab-7"})
    assert response.status_code == 200
    assert "ab-7" in response.content.decode() and "AB-7" in response.content.decode()
