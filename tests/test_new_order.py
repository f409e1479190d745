"""Managers enter an order by hand: saved as a Draft and submitted later, or submitted at
once; viewers cannot; duplicates and bad addresses are explained."""

import pytest
from django.urls import reverse

from orders.models import Order, StatusChange
from tests.conftest import PASSWORD, US_ADDRESS


def form_data(number="M-1", button="submit_now", **overrides):
    data = {
        "number": number,
        "customer_name": "Ava Smith",
        "customer_email": "ava@example.com",
        "customer_phone": "",
        **US_ADDRESS,
        "address2": "",
        "ship_option": "Standard",
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "50",
        "form-0-product": "",
        "form-0-quantity": "2",
        "form-1-product": "",
        "form-1-quantity": "",
        button: "1",
    }
    data.update(overrides)
    return data


@pytest.fixture
def as_manager(client, manager):
    client.login(username=manager.username, password=PASSWORD)
    return client


def test_manager_submits_a_new_order_at_once(
    as_manager, manager, products, centers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_manager.post(
            reverse("new_order"), form_data(**{"form-0-product": products["stock"].pk})
        )
    assert response.status_code == 302
    order = Order.objects.get(number="M-1")
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("TEE-1", 2)]
    assert order.status == "processing"
    first = StatusChange.objects.filter(order=order).first()
    assert (first.transition, first.actor) == ("import", manager)


def test_manager_saves_a_draft_then_submits_it(
    as_manager, manager, products, centers, django_capture_on_commit_callbacks
):
    response = as_manager.post(
        reverse("new_order"),
        form_data(button="save_draft", **{"form-0-product": products["stock"].pk}),
    )
    assert response.status_code == 302
    assert Order.objects.get(number="M-1").status == "draft"
    assert b"Submit M-1" in as_manager.get(reverse("new_order")).content
    with django_capture_on_commit_callbacks(execute=True):
        response = as_manager.post(reverse("submit_draft", args=["M-1"]))
    assert response.status_code == 302
    order = Order.objects.get(number="M-1")
    assert order.status == "processing"
    assert StatusChange.objects.get(order=order, transition="submit").actor == manager


def test_a_draft_may_have_an_unfinished_address(as_manager, products):
    response = as_manager.post(
        reverse("new_order"),
        form_data(button="save_draft", postal_code="", **{"form-0-product": products["stock"].pk}),
    )
    assert response.status_code == 302
    assert Order.objects.get(number="M-1").status == "draft"


def test_submitting_with_a_bad_address_is_explained(as_manager, products):
    response = as_manager.post(
        reverse("new_order"),
        form_data(postal_code="ABC", **{"form-0-product": products["stock"].pk}),
    )
    assert response.status_code == 400
    assert b"is not a 5-digit ZIP code" in response.content
    assert not Order.objects.exists()


def test_an_order_needs_a_product(as_manager, products):
    response = as_manager.post(reverse("new_order"), form_data())
    assert response.status_code == 400
    assert b"Add at least one product" in response.content
    assert not Order.objects.exists()


def test_an_existing_number_is_refused_with_the_reason(as_manager, products, make_order):
    make_order(number="M-1")
    response = as_manager.post(
        reverse("new_order"), form_data(**{"form-0-product": products["stock"].pk})
    )
    assert response.status_code == 400
    assert b"already imported" in response.content
    assert Order.objects.filter(number="M-1").count() == 1


def test_another_merchants_product_cannot_be_chosen(as_manager, products, other_merchant):
    theirs = other_merchant.products.create(sku="THEIRS", name="Not yours")
    response = as_manager.post(reverse("new_order"), form_data(**{"form-0-product": theirs.pk}))
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_viewer_cannot_create_or_submit(client, viewer, products, make_order):
    client.login(username=viewer.username, password=PASSWORD)
    assert client.get(reverse("new_order")).status_code == 200
    response = client.post(
        reverse("new_order"), form_data(**{"form-0-product": products["stock"].pk})
    )
    assert response.status_code == 403
    draft = make_order(number="D-9", draft=True)
    assert client.post(reverse("submit_draft", args=["D-9"])).status_code == 403
    assert Order.objects.get(pk=draft.pk).status == "draft"
    assert not Order.objects.filter(number="M-1").exists()


def test_another_merchants_draft_is_a_404(client, outsider, make_order):
    make_order(number="D-1", draft=True)
    client.login(username=outsider.username, password=PASSWORD)
    assert client.post(reverse("submit_draft", args=["D-1"])).status_code == 404
    assert Order.objects.get(number="D-1").status == "draft"


def test_submitting_a_non_draft_says_why(as_manager, make_order):
    make_order(number="S-1")
    response = as_manager.post(reverse("submit_draft", args=["S-1"]), follow=True)
    assert "not possible while the order is Import Review" in response.content.decode()
