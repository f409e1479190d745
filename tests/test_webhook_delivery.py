"""Merchant webhooks: Standard Webhooks signatures checked by a receiver with the
`standardwebhooks` package, retries with backoff on a fake clock under one webhook-id, giving
up after 24 hours (endpoint failing, managers e-mailed), resend, secret rotation, refused
addresses (at save and at send time) and one slow endpoint not holding up another."""

import datetime
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from orders import events as ev
from orders.notify import dispatch_events
from orders.services import order_transition
from orders.webhooks import sending
from orders.webhooks.models import (
    DELIVERED,
    FAILING,
    GAVE_UP,
    PENDING,
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from orders.webhooks.services import (
    EndpointRefused,
    delivery_resend,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_send_test,
)


class Receiver:
    """A real HTTP receiver on 127.0.0.1 that verifies each request with standardwebhooks."""

    def __init__(self, secret):
        self.secret = secret
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                    receiver.received.append((headers, payload))
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}' + b"x" * 3000)
                except WebhookVerificationError as exc:
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(str(exc).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


PUBLIC = "93.184.215.14"


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    """Names under example.com resolve to a public address (the test machine has no DNS);
    literal addresses resolve as themselves."""
    real = sending.resolve
    monkeypatch.setattr(
        sending,
        "resolve",
        lambda host, port: [PUBLIC] if host.endswith("example.com") else real(host, port),
    )


@pytest.fixture
def held_order(make_order, staff):
    def hold():
        order = make_order()
        return order_transition(
            order=order, name="hold", by=staff, params={"reason": "invalid_address", "note": "zip"}
        )

    return hold


def recording_transport(status=500, seen=None):
    seen = [] if seen is None else seen

    def handle(request):
        seen.append(request)
        return httpx.Response(status, text="nope" * 400)

    return httpx.Client(transport=httpx.MockTransport(handle)), seen


def test_a_receiver_verifies_the_signed_delivery_with_standardwebhooks(merchant, held_order):
    receiver = None
    try:
        endpoint, secret = endpoint_create(merchant=merchant, url="http://127.0.0.1:1/x")
        receiver = Receiver(secret)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
        order = held_order()
        assert dispatch_events() >= 2  # imported and held
        assert sending.deliver_due() >= 2
    finally:
        if receiver:
            receiver.close()
    types = [payload["type"] for _h, payload in receiver.received]
    assert types == [ev.IMPORTED, ev.HELD]
    headers, payload = receiver.received[1]
    assert payload["data"]["number"] == order.number
    assert payload["data"]["hold"]["reason"] == "invalid_address"
    held = WebhookDelivery.objects.get(event__type=ev.HELD)
    assert headers["webhook-id"] == held.event.msg_id == held.msg_id
    assert held.state == DELIVERED
    attempt = held.tries.get()
    assert attempt.status_code == 200 and attempt.duration_ms >= 0
    assert len(attempt.response) == 1024 and attempt.response.startswith('{"ok": true}')


def test_a_wrong_secret_fails_verification(merchant, held_order):
    endpoint, _secret = endpoint_create(merchant=merchant, url="http://127.0.0.1:1/x")
    receiver = Receiver("whsec_" + "QUJD" * 11)
    try:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
        held_order()
        dispatch_events()
        sending.deliver_due()
    finally:
        receiver.close()
    assert receiver.received == []
    assert set(DeliveryAttempt.objects.values_list("status_code", flat=True)) == {400}


def test_retries_back_off_under_one_id_for_24_hours_then_the_endpoint_is_failing(
    merchant, manager, held_order, django_capture_on_commit_callbacks
):
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        endpoint_create(
            merchant=merchant, url="https://hooks.example.com/in", event_types=[ev.HELD]
        )
        held_order()
        dispatch_events()
    delivery = WebhookDelivery.objects.get()
    client, seen = recording_transport(503)
    now, gaps, rng = start, [], random.Random(7)
    while delivery.state == PENDING:
        # The managers' e-mail goes out after the commit that marks the endpoint failing.
        with django_capture_on_commit_callbacks(execute=True):
            assert sending.deliver_due(now=now, client=client, rng=rng) == 1
        delivery.refresh_from_db()
        if delivery.state == PENDING:
            gaps.append((delivery.next_attempt_at - now).total_seconds())
            now = delivery.next_attempt_at
        assert len(seen) < 100
    # Exponential backoff with jitter: each wait is 50-150 % of 5 s doubling, up to 2 hours.
    for n, gap in enumerate(gaps[:10], start=1):
        base = min(5 * 2 ** (n - 1), 7200)
        assert 0.5 * base <= gap <= 1.5 * base or gap < 0.5 * base and n == len(gaps)
    assert gaps[3] > gaps[0] * 2
    assert delivery.state == GAVE_UP
    assert now == delivery.created_at + datetime.timedelta(hours=24)
    assert {r.headers["webhook-id"] for r in seen} == {delivery.msg_id}
    assert len({r.content for r in seen}) == 1
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == len(seen)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.state == FAILING and endpoint.failing_since == now
    failing = [m for m in mail.outbox if "Webhook endpoint failing" in m.subject]
    assert len(failing) == 1 and failing[0].to == [manager.email]
    assert failing[0].alternatives[0][1] == "text/html"


def test_a_success_after_failing_clears_the_endpoint(merchant, held_order):
    endpoint, _ = endpoint_create(merchant=merchant, url="https://hooks.example.com/in")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(state=FAILING)
    held_order()
    dispatch_events()
    client, _seen = recording_transport(204)
    sending.deliver_due(client=client)
    assert WebhookEndpoint.objects.get().state == "active"


def test_resend_sends_the_same_message_again(merchant, held_order):
    endpoint_create(merchant=merchant, url="https://hooks.example.com/in", event_types=[ev.HELD])
    held_order()
    dispatch_events()
    client, seen = recording_transport(200)
    sending.deliver_due(client=client)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DELIVERED and len(seen) == 1
    delivery_resend(delivery=delivery)
    assert WebhookDelivery.objects.get().state == PENDING
    sending.deliver_due(client=client)
    assert len(seen) == 2
    assert seen[0].headers["webhook-id"] == seen[1].headers["webhook-id"] == delivery.msg_id
    assert seen[0].content == seen[1].content
    assert WebhookDelivery.objects.get().tries.count() == 2


def test_send_test_event_reaches_only_that_endpoint(merchant):
    first, _ = endpoint_create(merchant=merchant, url="https://a.example.com/in")
    endpoint_create(merchant=merchant, url="https://b.example.com/in")
    endpoint_send_test(endpoint=first)
    client, seen = recording_transport(200)
    sending.deliver_due(client=client)
    assert len(seen) == 1 and seen[0].headers["host"] == "a.example.com"
    assert json.loads(seen[0].content)["type"] == ev.TEST


def test_rotated_secret_old_one_signs_for_24_hours(merchant):
    endpoint, old = endpoint_create(merchant=merchant, url="https://hooks.example.com/in")
    rotated_at = timezone.now()
    endpoint, new = endpoint_rotate_secret(endpoint=endpoint, now=rotated_at)
    assert new != old and new.startswith("whsec_")
    body = '{"type":"x"}'
    headers = sending.signed_headers(endpoint, "msg_1", body, rotated_at)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    later = rotated_at + datetime.timedelta(hours=24, seconds=1)
    headers = sending.signed_headers(endpoint, "msg_2", body, later)
    with time_machine.travel(later, tick=False):
        Webhook(new).verify(body, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(body, headers)


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://hooks.example.com/in", "must use https"),
        ("https://127.0.0.1/in", "loopback"),
        ("https://10.0.0.1/in", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[::1]/in", "loopback"),
        ("https://internal.example.com/in", "resolves to 10.1.2.3"),
        ("ftp://hooks.example.com/in", "https"),
    ],
)
@override_settings(WEBHOOK_REQUIRE_HTTPS=True, WEBHOOK_ALLOW_LOOPBACK=False)
def test_internal_or_plain_http_addresses_are_refused(merchant, monkeypatch, url, message):
    public = sending.resolve
    monkeypatch.setattr(
        sending,
        "resolve",
        lambda host, port: ["10.1.2.3"] if host == "internal.example.com" else public(host, port),
    )
    with pytest.raises(EndpointRefused, match=message):
        endpoint_create(merchant=merchant, url=url)
    assert not WebhookEndpoint.objects.exists()


@override_settings(WEBHOOK_ALLOW_LOOPBACK=False)
def test_a_name_that_later_resolves_inside_is_refused_at_send_time(
    merchant, monkeypatch, held_order
):
    answers = {"hooks.example.com": [PUBLIC]}
    monkeypatch.setattr(sending, "resolve", lambda host, port: answers[host])
    endpoint_create(merchant=merchant, url="https://hooks.example.com/in", event_types=[ev.HELD])
    held_order()
    dispatch_events()
    answers["hooks.example.com"] = ["169.254.169.254"]
    client, seen = recording_transport(200)
    sending.deliver_due(client=client)
    assert seen == []
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None and "metadata" in attempt.error
    # Connected to the address checked, not to a second lookup's answer.
    answers["hooks.example.com"] = [PUBLIC]
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    sending.deliver_due(client=client)
    assert seen[0].url.host == PUBLIC and seen[0].headers["host"] == "hooks.example.com"
    assert seen[0].extensions["sni_hostname"] == "hooks.example.com"


def test_a_slow_endpoint_does_not_hold_up_another_merchants(merchant, other_merchant, held_order):
    endpoint_create(merchant=merchant, url="https://slow.example.com/in")
    endpoint_create(merchant=other_merchant, url="https://fast.example.com/in")
    fast_done = threading.Event()

    def handle(request):
        if request.headers["host"] == "slow.example.com":
            # Answers only once the other merchant's delivery went through: were deliveries
            # sent one after the other, this would wait (and fail) first.
            assert fast_done.wait(timeout=10), "the fast endpoint waited for the slow one"
            return httpx.Response(200)
        fast_done.set()
        return httpx.Response(200)

    held_order()
    from orders.effects import record_event

    record_event(ev.IMPORT_FINISHED, merchant=other_merchant, data={"import": {}})
    dispatch_events()
    sending.deliver_due(client=httpx.Client(transport=httpx.MockTransport(handle)))
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {DELIVERED}
    assert fast_done.is_set()


def test_endpoints_only_get_the_event_types_they_chose(merchant, held_order):
    endpoint_create(merchant=merchant, url="https://a.example.com/in", event_types=[ev.SHIPPED])
    endpoint_create(merchant=merchant, url="https://b.example.com/in")
    held_order()
    dispatch_events()
    assert sorted(WebhookDelivery.objects.values_list("endpoint__url", "event_type")) == [
        ("https://b.example.com/in", ev.HELD),
        ("https://b.example.com/in", ev.IMPORTED),
    ]
    assert dispatch_events() == 0  # an event is dispatched once


def test_unknown_event_types_are_refused(merchant):
    with pytest.raises(EndpointRefused, match="Unknown event type"):
        endpoint_create(merchant=merchant, url="https://a.example.com/", event_types=["order.x"])


def test_a_timeout_stops_only_that_endpoints_round(merchant, other_merchant, make_order):
    endpoint_create(merchant=merchant, url="https://slow.example.com/in")
    endpoint_create(merchant=other_merchant, url="https://fast.example.com/in")
    for i in range(3):
        make_order(number=f"S-{i}")
        make_order(number=f"F-{i}", target_merchant=other_merchant)
    dispatch_events()
    seen = []

    def handle(request):
        seen.append(request.headers["host"])
        if request.headers["host"] == "slow.example.com":
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(200)

    now = timezone.now()
    sending.deliver_due(now=now, client=httpx.Client(transport=httpx.MockTransport(handle)))
    assert seen.count("slow.example.com") == 1 and seen.count("fast.example.com") == 3
    slow = WebhookDelivery.objects.filter(endpoint__url__contains="slow")
    assert slow.filter(attempts=1).count() == 1
    assert slow.filter(attempts=0, next_attempt_at__gt=now).count() == 2
    assert DeliveryAttempt.objects.get(delivery__in=slow).error == "timed out after 5 s"
