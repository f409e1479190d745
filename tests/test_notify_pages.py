"""The merchant pages of telling merchants: webhook endpoints (settings page and API), e-mail
choices, the inbox and its bell. Managers manage endpoints; viewers only look; another
merchant's endpoints, deliveries and events are 404s and never shown."""

import pytest
from django.urls import reverse

from orders import events as ev
from orders.event_models import EmailPreference, Event
from orders.notify import dispatch_events, unread_count
from orders.services import order_transition
from orders.tokens import token_create
from orders.webhooks import sending
from orders.webhooks.models import WebhookDelivery, WebhookEndpoint
from orders.webhooks.services import endpoint_create
from tests.conftest import PASSWORD

PUBLIC = "93.184.215.14"


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    real = sending.resolve
    monkeypatch.setattr(
        sending,
        "resolve",
        lambda host, port: [PUBLIC] if host.endswith("example.com") else real(host, port),
    )


@pytest.fixture
def signed_in(client):
    def login(user):
        client.login(username=user.username, password=PASSWORD)
        return client

    return login


@pytest.fixture
def endpoint(merchant):
    made, _secret = endpoint_create(merchant=merchant, url="https://hooks.example.com/acme")
    return made


def test_manager_adds_an_endpoint_and_sees_its_secret_once(signed_in, manager, merchant):
    client = signed_in(manager)
    response = client.post(
        reverse("webhook_endpoints"),
        {"url": "https://hooks.example.com/in", "event_types": [ev.HELD, ev.SHIPPED]},
    )
    endpoint = WebhookEndpoint.objects.get(merchant=merchant)
    assert response.status_code == 302
    assert response["Location"] == reverse("webhook_endpoint", args=[endpoint.pk])
    assert endpoint.event_types == [ev.HELD, ev.SHIPPED]
    page = client.get(response["Location"]).content.decode()
    assert endpoint.secret in page
    again = client.get(response["Location"]).content.decode()
    assert endpoint.secret not in again


def test_a_refused_url_is_a_form_error_and_saves_nothing(signed_in, manager, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    client = signed_in(manager)
    response = client.post(reverse("webhook_endpoints"), {"url": "https://127.0.0.1/x"})
    assert response.status_code == 400
    assert "loopback" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_viewer_cannot_manage_endpoints(signed_in, viewer, endpoint):
    client = signed_in(viewer)
    assert client.get(reverse("webhook_endpoints")).status_code == 200
    page = client.get(reverse("webhook_endpoint", args=[endpoint.pk])).content.decode()
    assert "Send test event" not in page and endpoint.secret not in page
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, msg_id="msg_1", event_type=ev.TEST, body="{}"
    )
    posts = [
        (reverse("webhook_endpoints"), {"url": "https://hooks.example.com/other"}),
        (reverse("webhook_endpoint", args=[endpoint.pk]), {"url": "https://x.example.com/"}),
        (reverse("webhook_test", args=[endpoint.pk]), {}),
        (reverse("webhook_rotate", args=[endpoint.pk]), {}),
        (reverse("webhook_toggle", args=[endpoint.pk]), {}),
        (reverse("webhook_delete", args=[endpoint.pk]), {}),
        (reverse("webhook_resend", args=[endpoint.pk, delivery.pk]), {}),
    ]
    before = WebhookEndpoint.objects.values_list("url", "secret", "state").get()
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert WebhookEndpoint.objects.values_list("url", "secret", "state").get() == before
    assert WebhookDelivery.objects.count() == 1


def test_another_merchants_endpoint_is_a_404(signed_in, outsider, endpoint):
    client = signed_in(outsider)
    assert client.get(reverse("webhook_endpoint", args=[endpoint.pk])).status_code == 404
    assert client.post(reverse("webhook_test", args=[endpoint.pk])).status_code == 404
    assert client.post(reverse("webhook_delete", args=[endpoint.pk])).status_code == 404
    assert "hooks.example.com/acme" not in client.get(reverse("webhook_endpoints")).content.decode()
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_send_test_rotate_and_resend_from_the_page(signed_in, manager, endpoint):
    client = signed_in(manager)
    client.post(reverse("webhook_test", args=[endpoint.pk]))
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event_type == ev.TEST
    old = endpoint.secret
    response = client.post(reverse("webhook_rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret in client.get(response["Location"]).content.decode()
    response = client.post(reverse("webhook_resend", args=[endpoint.pk, delivery.pk]))
    assert response.status_code == 302
    page = client.get(reverse("webhook_endpoint", args=[endpoint.pk])).content.decode()
    assert delivery.msg_id in page


def test_inbox_lists_this_merchants_events_filters_and_marks_read(
    signed_in, manager, outsider, make_order, staff, other_merchant
):
    order = make_order()
    order_transition(order=order, name="hold", by=staff, params={"reason": "invalid_address"})
    make_order(number="OTHER-1", target_merchant=other_merchant)
    client = signed_in(manager)
    page = client.get(reverse("inbox")).content.decode()
    assert f"Order {order.number} is on hold: Invalid address" in page
    assert "OTHER-1" not in page
    held_only = client.get(reverse("inbox"), {"kind": ev.HELD}).content.decode()
    assert "is on hold" in held_only and "entered review" not in held_only
    assert client.get(reverse("inbox"), {"kind": "nonsense"}).status_code == 200
    merchant = order.merchant
    assert unread_count(manager, merchant) == 2
    held = Event.objects.get(type=ev.HELD)
    client.post(reverse("inbox_read"), {"event": [str(held.pk), "abc"]})
    assert unread_count(manager, merchant) == 1
    bell = client.get(reverse("inbox_bell")).content.decode()
    assert 'data-count="1"' in bell
    client.post(reverse("inbox_read"), {"all": "1"})
    assert unread_count(manager, merchant) == 0
    assert "data-count" not in client.get(reverse("inbox_bell")).content.decode()
    # Read marks are per member: the outsider's and the viewer's are their own.
    other = Event.objects.get(merchant=other_merchant)
    client.post(reverse("inbox_read"), {"event": [str(other.pk)]})
    assert unread_count(outsider, other_merchant) == 1


def test_the_bell_shows_a_banner_when_an_endpoint_is_failing(signed_in, manager, endpoint):
    client = signed_in(manager)
    assert "Webhook endpoint failing" not in client.get(reverse("inbox_bell")).content.decode()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(state="failing")
    assert "Webhook endpoint failing" in client.get(reverse("inbox_bell")).content.decode()


def test_each_member_chooses_their_own_emails(signed_in, viewer, merchant):
    client = signed_in(viewer)
    response = client.post(
        reverse("notification_settings"), {ev.SHIPPED: "immediately", ev.HELD: "digest"}
    )
    assert response.status_code == 302
    assert dict(EmailPreference.objects.values_list("kind", "choice")) == {
        ev.SHIPPED: "immediately",
        ev.HELD: "digest",
    }
    response = client.post(reverse("notification_settings"), {ev.SHIPPED: "loud"})
    assert response.status_code == 200
    assert EmailPreference.objects.get(kind=ev.SHIPPED).choice == "immediately"


def test_api_manages_endpoints_of_the_tokens_merchant_only(client, merchant, other_merchant):
    _token, raw = token_create(merchant=merchant, name="Shop")
    _other, other_raw = token_create(merchant=other_merchant, name="Other shop")
    auth = {"Authorization": f"Bearer {raw}"}
    response = client.post(
        "/api/v1/webhooks",
        {"url": "https://hooks.example.com/api", "event_types": [ev.DELIVERED]},
        content_type="application/json",
        headers=auth,
    )
    assert response.status_code == 201
    created = response.json()
    assert created["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhooks", headers=auth).json()["endpoints"]
    assert [e["url"] for e in listed] == ["https://hooks.example.com/api"]
    assert "secret" not in listed[0]
    other = {"Authorization": f"Bearer {other_raw}"}
    assert client.get(f"/api/v1/webhooks/{created['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/webhooks", headers=other).json() == {"endpoints": []}
    bad = client.post(
        "/api/v1/webhooks",
        {"url": "https://10.0.0.1/"},
        content_type="application/json",
        headers=auth,
    )
    assert bad.status_code == 400 and "private" in bad.json()["error"]
    assert (
        client.post(
            "/api/v1/webhooks", "[1]", content_type="application/json", headers=auth
        ).status_code
        == 400
    )
    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=auth).status_code == 200
    assert not WebhookEndpoint.objects.exists()


def test_dispatch_reaches_only_the_merchants_own_endpoints(merchant, other_merchant, make_order):
    endpoint_create(merchant=other_merchant, url="https://other.example.com/in")
    make_order()
    dispatch_events()
    assert not WebhookDelivery.objects.exists()


def test_the_webhooks_api_ignores_the_session(signed_in, manager):
    """Exempt from CSRF only because a session is never a credential here."""
    client = signed_in(manager)
    response = client.post(
        "/api/v1/webhooks", {"url": "https://hooks.example.com/x"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert not WebhookEndpoint.objects.exists()
