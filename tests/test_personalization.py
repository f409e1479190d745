"""Pending personalization has its way out (issue 12): a manager marks it complete on the
order page, or the store does through the API; the order goes back to review with history
and audit, and review does not hold it again for this."""

import json

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from orders.models import AuditEntry, Order, StatusChange
from orders.review import review_order
from orders.services import order_create
from orders.tokens import token_create
from tests.conftest import US_ADDRESS
from tests.dashboard_helpers import login


@pytest.fixture
def waiting(merchant, products, centers):
    """An order held because the buyer has not finished personalising one of its items."""
    order = order_create(
        merchant=merchant,
        by="test",
        number="PZ-1",
        lines=[
            {"sku": "TEE-1", "personalization": "Ann", "personalization_complete": False},
            {"sku": "TEE-1", "quantity": 2},
        ],
        ship_option="Standard",
        **US_ADDRESS,
    )
    review_order(order.pk)
    held = Order.objects.get(pk=order.pk)
    assert (held.status, held.hold_reason) == ("action_required", "pending_personalization")
    return held


URL = "/orders/PZ-1/personalization-complete/"


def _fresh(order):
    return Order.objects.get(pk=order.pk)


def test_manager_sees_the_button_instead_of_a_retry_that_would_hold_it_again(
    client, manager, waiting
):
    body = login(client, manager).get("/orders/PZ-1/").content.decode()
    assert 'data-action="complete_personalization"' in body
    assert f'href="{URL}?seen=action_required"' in body
    assert 'data-action="retry"' not in body


def test_viewer_sees_no_button_and_cannot_post(client, viewer, waiting):
    body = login(client, viewer).get("/orders/PZ-1/").content.decode()
    assert "complete_personalization" not in body
    response = client.post(URL, {"expected_status": "action_required"})
    assert response.status_code == 403
    assert _fresh(waiting).status == "action_required"


def test_another_merchants_manager_gets_a_404(client, outsider, waiting):
    login(client, outsider)
    assert client.get(URL).status_code == 404
    assert client.post(URL).status_code == 404
    assert _fresh(waiting).status == "action_required"


def test_marking_complete_sends_the_order_to_review_which_accepts_it(
    client, manager, waiting, django_capture_on_commit_callbacks
):
    login(client, manager)
    confirm = client.get(URL, {"seen": "action_required"})
    assert b"Mark personalization complete for order PZ-1?" in confirm.content
    with django_capture_on_commit_callbacks(execute=True):  # the review task runs
        response = client.post(URL, {"expected_status": "action_required"})
    assert response.status_code == 302
    assert response["Location"] == "/orders/PZ-1/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Order PZ-1 is marked as personalized and went back to review."
    ]
    order = _fresh(waiting)
    assert order.status == "processing"  # review did not hold it again
    assert all(line.personalization_complete for line in order.lines.all())
    change = StatusChange.objects.get(order=order, transition="retry")
    assert (change.source, change.target, change.actor, change.reason) == (
        "action_required",
        "import_review",
        manager,
        "personalization complete",
    )
    entry = AuditEntry.objects.get(action="complete_personalization")
    assert (entry.outcome, entry.numbers, entry.user) == ("done", "PZ-1", manager)


def test_a_page_that_saw_another_status_changes_nothing(client, manager, waiting):
    login(client, manager)
    response = client.post(URL, {"expected_status": "import_review"})
    assert response.status_code == 302
    assert "changed meanwhile" in str(list(get_messages(response.wsgi_request))[0])
    order = _fresh(waiting)
    assert order.status == "action_required"
    assert not order.lines.get(personalization="Ann").personalization_complete


def test_an_order_not_waiting_for_personalization_is_refused(client, manager, make_order):
    order = make_order(number="PZ-2")
    login(client, manager)
    page = client.get("/orders/PZ-2/personalization-complete/")
    assert b"not waiting for personalization" in page.content
    response = client.post("/orders/PZ-2/personalization-complete/")
    assert "not waiting for personalization" in str(list(get_messages(response.wsgi_request))[0])
    assert _fresh(order).status == order.status
    entry = AuditEntry.objects.get(action="complete_personalization")
    assert entry.outcome == "refused"


def _api(merchant, number, method="post"):
    name = f"Shop {method} {merchant.api_tokens.count()}"
    _token, raw = token_create(merchant=merchant, name=name)
    return getattr(Client(), method)(
        f"/api/v1/orders/{number}/personalization-complete",
        **(
            {"data": json.dumps({}), "content_type": "application/json"} if method == "post" else {}
        ),
        headers={"Authorization": f"Bearer {raw}"},
    )


def test_api_marks_personalization_complete(merchant, waiting, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(merchant, "PZ-1")
    assert response.status_code == 200
    assert response.json()["number"] == "PZ-1"
    assert _fresh(waiting).status == "processing"
    change = StatusChange.objects.get(order=waiting, transition="retry")
    assert change.actor_name == "api: Shop post 0"
    assert AuditEntry.objects.get(action="complete_personalization").outcome == "done"


def test_api_refuses_what_it_cannot_do(merchant, other_merchant, waiting, make_order):
    make_order(number="PZ-2")
    assert _api(merchant, "PZ-2").status_code == 409
    assert _api(merchant, "NOPE").status_code == 404
    assert _api(other_merchant, "PZ-1").status_code == 404
    assert _api(merchant, "PZ-1", method="get").status_code == 405
    assert _fresh(waiting).status == "action_required"


def test_api_ignores_a_signed_in_session(client, manager, waiting):
    """The endpoint is CSRF-exempt because only a bearer token opens it."""
    login(client, manager)
    response = client.post("/api/v1/orders/PZ-1/personalization-complete")
    assert response.status_code == 401
    assert _fresh(waiting).status == "action_required"
