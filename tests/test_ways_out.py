"""Every way out of a hold is on the order page, primary first and destructive last, and
works: connect a product and retry, map a ship option and retry, submit a draft from its
page, mark personalization complete. Viewers see the page but change nothing."""

import re

import pytest

from orders.models import AuditEntry, Order, Product, ShipOptionMapping
from orders.review import review_order
from tests.conftest import PASSWORD


def fresh(order):
    return Order.objects.get(pk=order.pk)


def reviewed(order):
    review_order(order.pk)
    return fresh(order)


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def actions(html):
    """The data-action names of the page's ways out, in page order."""
    block = html.split('aria-label="What you can do"', 1)[1].split("</div>", 1)[0]
    return re.findall(r'data-action="([a-z_]+)"', block)


def test_fixing_the_address_says_what_happens_next(
    client, manager, make_order, django_capture_on_commit_callbacks
):
    from tests.conftest import US_ADDRESS

    order = reviewed(make_order(postal_code="ABC"))
    login(client, manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/orders/{order.number}/address/", {**US_ADDRESS, "address2": ""}, follow=True
        )
    page = response.content.decode()
    assert "Address saved: sent back to review" in page
    assert fresh(order).status == "processing"


def test_invalid_address_puts_edit_address_first_and_cancel_last(client, manager, make_order):
    order = reviewed(make_order(postal_code="ABC"))
    assert order.hold_reason == "invalid_address"
    login(client, manager)
    found = actions(client.get(f"/orders/{order.number}/").content.decode())
    assert found[0] == "edit_address"
    assert found.count("edit_address") == 1 and "request_address" not in found
    assert found[-1] == "cancel"
    assert "retry" in found and found.index("retry") < found.index("cancel")


def test_connect_a_product_then_retry_the_orders_waiting_on_it(
    client, manager, make_order, products, django_capture_on_commit_callbacks
):
    Product.objects.filter(pk=products["stock"].pk).update(connected=False)
    order = reviewed(make_order())
    assert order.hold_reason == "not_connected"
    login(client, manager)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert actions(page)[0] == "products"
    assert "TEE-1 (Tee) is not connected." in page
    listing = client.get("/products/").content.decode()
    assert "Not connected" in listing
    response = client.post(f"/products/{products['stock'].pk}/connect/", {"connected": "1"})
    assert response.status_code == 302
    assert Product.objects.get(pk=products["stock"].pk).connected
    waiting = client.get(response["Location"]).content.decode()
    assert order.number in waiting and "Retry 1 order" in waiting
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/products/retry/", {"kind": "product", "key": products["stock"].pk})
    assert response["Location"] == f"/orders/{order.number}/"
    assert fresh(order).status == "processing"
    assert fresh(order).history.filter(transition="retry", actor_name=manager.username).exists()
    assert AuditEntry.objects.filter(action="product_connect", user=manager).exists()


def test_map_a_ship_option_then_retry(
    client, manager, make_order, merchant, django_capture_on_commit_callbacks
):
    order = reviewed(make_order(ship_option="Moon Post"))
    assert order.hold_detail == {"unmapped_ship_option": "Moon Post"}
    login(client, manager)
    listing = client.get("/products/").content.decode()
    assert "'Moon Post' · 1 held order" in listing
    response = client.post(
        "/products/ship-options/",
        {"store_option": " moon post ", "carrier": "DHL", "service": "Express"},
    )
    assert response.status_code == 302
    mapping = ShipOptionMapping.objects.get(merchant=merchant, store_option="moon post")
    assert (mapping.carrier, mapping.service) == ("DHL", "Express")
    assert order.number in client.get(response["Location"]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/products/retry/", {"kind": "ship_option", "key": "moon post"})
    done = fresh(order)
    assert done.status == "processing"
    assert (done.carrier, done.service) == ("DHL", "Express")


def test_mapping_form_errors_change_nothing(client, manager, merchant):
    login(client, manager)
    before = ShipOptionMapping.objects.count()
    response = client.post("/products/ship-options/", {"store_option": "X", "carrier": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert ShipOptionMapping.objects.count() == before


def test_submit_a_draft_from_its_page(
    client, manager, make_order, django_capture_on_commit_callbacks
):
    draft = make_order(draft=True)
    login(client, manager)
    page = client.get(f"/orders/{draft.number}/").content.decode()
    assert actions(page)[0] == "submit"
    assert f'action="/drafts/{draft.number}/submit/"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/drafts/{draft.number}/submit/", {"next": f"/orders/{draft.number}/"}
        )
    assert response["Location"] == f"/orders/{draft.number}/"
    assert fresh(draft).status == "processing"
    assert fresh(draft).history.filter(transition="submit").exists()


def test_mark_personalization_complete_from_the_hold(
    client, manager, merchant, products, django_capture_on_commit_callbacks
):
    from orders.services import order_create
    from tests.conftest import US_ADDRESS

    order = order_create(
        merchant=merchant,
        by="test",
        number="PZ-1",
        lines=[{"sku": "TEE-1", "personalization": "Name: Ava", "personalization_complete": False}],
        ship_option="Standard",
        **US_ADDRESS,
    )
    order = reviewed(order)
    assert order.hold_reason == "pending_personalization"
    login(client, manager)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert actions(page)[0] == "complete_personalization"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/orders/{order.number}/personalization-complete/")
    assert response.status_code == 302
    assert fresh(order).status == "processing"
    assert not order.lines.filter(personalization_complete=False).exists()


def test_after_a_fix_the_page_says_what_happens_then_the_outcome(client, manager, make_order):
    order = reviewed(make_order(ship_option="Moon Post"))
    login(client, manager)
    client.post(f"/orders/{order.number}/retry/", {"expected_status": "action_required"})
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "you will see the result here in a few seconds" in page
    assert 'hx-trigger="every 3s' in page
    review_order(order.pk)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Checked again after your fix: held again for product configuration." in page
    ShipOptionMapping.objects.create(
        merchant=order.merchant, store_option="Moon Post", carrier="DHL", service="Express"
    )
    client.post(f"/orders/{order.number}/retry/", {"expected_status": "action_required"})
    review_order(order.pk)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Checked again after your fix: accepted." in page


def test_payment_panel_shows_state_and_history(client, manager, make_order):
    from orders.services import order_transition

    order = order_transition(
        order=make_order(), name="refuse_payment", by="payments", params={"reason": "Declined"}
    )
    login(client, manager)
    page = client.get(f"/orders/{order.number}/").content.decode()
    panel = page.split('id="payment-heading"', 1)[1].split("</section>", 1)[0]
    assert "Refused" in panel and "Pending" in panel and "by payments" in panel
    assert "The payment processor said: Declined" in page


@pytest.mark.parametrize(
    "url, data",
    [
        ("/products/{pk}/connect/", {"connected": "1"}),
        ("/products/ship-options/", {"store_option": "X", "carrier": "Y", "service": "Z"}),
        ("/products/retry/", {"kind": "product", "key": "{pk}"}),
        ("/orders/{number}/personalization-complete/", {}),
    ],
)
def test_viewers_are_refused(client, viewer, make_order, products, url, data):
    Product.objects.filter(pk=products["stock"].pk).update(connected=False)
    order = reviewed(make_order())
    login(client, viewer)
    pk = products["stock"].pk
    data = {k: v.format(pk=pk) for k, v in data.items()}
    response = client.post(url.format(pk=pk, number=order.number), data)
    assert response.status_code == 403
    assert not Product.objects.get(pk=pk).connected
    assert fresh(order).status == "action_required"
    assert ShipOptionMapping.objects.filter(store_option="X").count() == 0
    # They see the page, without the buttons.
    page = client.get("/products/").content.decode()
    assert "Only managers can change products" in page and 'data-action="connect"' not in page


def test_another_merchants_product_is_a_404(client, outsider, products):
    login(client, outsider)
    response = client.post(f"/products/{products['stock'].pk}/connect/", {"connected": "0"})
    assert response.status_code == 404
    assert Product.objects.get(pk=products["stock"].pk).connected
