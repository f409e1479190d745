"""Staff who sign in land in the admin; the admin's order page shows its transition buttons
at the top as well as at the bottom."""

from django.urls import reverse

from tests.conftest import PASSWORD


def test_staff_sign_in_lands_in_the_admin(client, staff):
    response = client.post(reverse("login"), {"username": staff.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_merchant_members_land_on_their_orders(client, manager):
    response = client.post(reverse("login"), {"username": manager.username, "password": PASSWORD})
    assert response["Location"] == reverse("home")


def test_a_next_page_still_wins_for_staff(client, staff):
    response = client.post(
        reverse("login") + "?next=/status-guide/",
        {"username": staff.username, "password": PASSWORD},
    )
    assert response["Location"] == "/status-guide/"


def test_admin_order_page_has_transition_buttons_at_the_top(client, staff, make_order):
    order = make_order()
    client.force_login(staff)
    html = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    top = html.index("data-fsm-top")
    first_field = html.index('name="number"')
    assert top < first_field
    assert 'name="_fsm_transition_to"' in html[top:first_field]
