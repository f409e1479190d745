import pytest
from django.urls import reverse

from orders.models import Membership, Order, StatusChange
from orders.services import order_clean_sweep, order_create

from .conftest import PASSWORD
from .dashboard_helpers import login


@pytest.mark.parametrize(
    "url",
    ["/", "/orders/", "/orders/T-1/", "/status-guide/", "/orders/export.csv", "/merchant/"],
)
def test_every_dashboard_page_needs_a_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_sign_in_lands_on_the_order_list(client, manager):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b"Sign in" in page.content
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("order_list")
    assert b"Acme Outfitters" in response.content


def test_wrong_password_says_so_and_signs_nobody_in(client, manager):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_sign_out_is_a_post(client, manager):
    login(client, manager)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/orders/").status_code == 302


def test_another_merchants_order_is_not_found(client, outsider, make_order):
    order = make_order(number="SECRET-1")
    login(client, outsider)
    for url in [
        f"/orders/{order.number}/",
        f"/orders/{order.number}/cancel/",
        f"/orders/{order.number}/address/",
    ]:
        assert client.get(url).status_code == 404
    assert client.post(f"/orders/{order.number}/cancel/").status_code == 404
    assert Order.objects.get(pk=order.pk).status == "import_review"
    listing = client.get("/orders/")
    assert b"SECRET-1" not in listing.content


def test_search_for_another_merchants_number_does_not_jump(client, outsider, make_order):
    make_order(number="SECRET-2")
    login(client, outsider)
    response = client.get("/orders/", {"q": "SECRET-2"})
    assert response.status_code == 200
    assert b"No orders match" in response.content


def test_viewer_cannot_cancel(client, viewer, make_order):
    order = make_order()
    login(client, viewer)
    assert client.get(f"/orders/{order.number}/cancel/").status_code == 403
    response = client.post(f"/orders/{order.number}/cancel/", {"expected_status": "import_review"})
    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).status == "import_review"
    assert not StatusChange.objects.filter(order=order, transition="cancel").exists()


def test_viewer_cannot_edit_an_address_or_bulk_act(client, viewer, make_order):
    order = make_order()
    login(client, viewer)
    assert client.post(f"/orders/{order.number}/address/", {"city": "Boston"}).status_code == 403
    response = client.post(
        "/orders/actions/bulk/",
        {"action": "cancel", "scope": "selected", "selected": [order.pk], "confirmed": "1"},
    )
    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).city == "New York"
    assert Order.objects.get(pk=order.pk).status == "import_review"


def test_user_without_a_merchant_is_told_so(client, db):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("nobody", password=PASSWORD)
    client.login(username="nobody", password=PASSWORD)
    response = client.get("/", follow=True)
    assert response.status_code == 403
    assert b"not linked to a merchant" in response.content


def test_staff_without_membership_picks_a_merchant_and_only_looks(client, staff, make_order):
    order = make_order()
    login(client, staff)
    response = client.get("/")
    assert response["Location"] == reverse("choose_merchant")
    page = client.get(reverse("choose_merchant"))
    assert b"Acme Outfitters" in page.content
    assert b"admin" in page.content
    client.post(reverse("choose_merchant"), {"merchant": order.merchant_id})
    detail = client.get(f"/orders/{order.number}/")
    assert detail.status_code == 200
    assert b"Cancel order" not in detail.content
    assert client.post(f"/orders/{order.number}/cancel/").status_code == 403
    assert Order.objects.get(pk=order.pk).status == "import_review"


def test_member_of_two_merchants_switches_between_them(client, manager, other_merchant, make_order):
    Membership.objects.create(user=manager, merchant=other_merchant, role="viewer")
    ours = make_order(number="ACME-1")
    theirs = make_order(number="GLOBEX-1", target_merchant=other_merchant)
    login(client, manager)
    listing = client.get("/orders/")
    assert b"ACME-1" in listing.content and b"GLOBEX-1" not in listing.content
    assert b'name="merchant"' in listing.content  # the switcher is shown
    client.post(reverse("choose_merchant"), {"merchant": other_merchant.pk})
    listing = client.get("/orders/")
    assert b"GLOBEX-1" in listing.content and b"ACME-1" not in listing.content
    assert client.get(f"/orders/{ours.number}/").status_code == 404
    # Viewer there: no buttons, and a POST is refused.
    detail = client.get(f"/orders/{theirs.number}/")
    assert b"Cancel order" not in detail.content
    assert client.post(f"/orders/{theirs.number}/cancel/").status_code == 403


def test_switching_to_a_merchant_you_do_not_belong_to_is_refused(
    client, manager, other_merchant, make_order
):
    make_order(number="ACME-2")
    login(client, manager)
    response = client.post(reverse("choose_merchant"), {"merchant": other_merchant.pk})
    assert b"cannot view that merchant" in response.content
    # Even a tampered session falls back to a merchant the user belongs to.
    session = client.session
    session["merchant_id"] = other_merchant.pk
    session.save()
    listing = client.get("/orders/")
    assert b"ACME-2" in listing.content
    assert b"Globex" not in listing.content


def test_removed_membership_loses_access_at_once(client, manager, make_order):
    order = make_order()
    login(client, manager)
    assert client.get(f"/orders/{order.number}/").status_code == 200
    Membership.objects.filter(user=manager).delete()
    assert client.get(f"/orders/{order.number}/").status_code == 404


def test_order_numbers_with_any_characters_but_slash_open(client, manager, merchant, products):
    order = order_create(
        merchant=merchant, by="test", number="#1001 A.b+c", lines=[{"sku": "TEE-1"}]
    )
    login(client, manager)
    url = reverse("order_detail", args=[order.number])
    response = client.get(url)
    assert response.status_code == 200
    assert b"#1001 A.b+c" in response.content


def test_live_order_wins_over_a_clean_swept_one_with_the_same_number(
    client, manager, merchant, make_order
):
    old = make_order(number="R-1", customer_name="Old Row")
    order_clean_sweep(order=old, by=manager)
    make_order(number="R-1", customer_name="New Row", reimport_of=old)
    login(client, manager)
    response = client.get("/orders/R-1/")
    assert b"New Row" in response.content
    assert b"Old Row" not in response.content
    assert b"an earlier order R-1 (clean swept)" in response.content


def test_only_clean_swept_rows_show_the_newest_of_them(client, manager, merchant, make_order):
    first = make_order(number="R-2", customer_name="First Row")
    order_clean_sweep(order=first, by=manager)
    second = make_order(number="R-2", customer_name="Second Row", reimport_of=first)
    order_clean_sweep(order=second, by=manager)
    login(client, manager)
    response = client.get("/orders/R-2/")
    assert response.status_code == 200
    assert b"Second Row" in response.content
    assert b"First Row" not in response.content


def test_junk_in_the_url_or_query_is_never_a_500(client, manager, make_order):
    make_order()
    login(client, manager)
    assert client.get("/orders/a%00b/").status_code == 404
    assert client.get("/orders/", {"q": "a\x00b"}).status_code == 200
    assert client.get("/orders/", {"page": "-1", "sort": "\x00"}).status_code == 200
    assert client.get("/orders/export.csv", {"q": "\x00"}, follow=True).status_code == 200
