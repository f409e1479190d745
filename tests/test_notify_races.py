"""Two workers at once on PostgreSQL: dispatching the same events and sending the same due
deliveries never doubles a delivery or an attempt (rows are claimed with SKIP LOCKED)."""

import threading

import httpx
import pytest

from orders.event_models import Event
from orders.notify import dispatch_events
from orders.webhooks import sending
from orders.webhooks.models import DeliveryAttempt, WebhookDelivery
from orders.webhooks.services import endpoint_create

from .test_races import ON_POSTGRES, race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL row locks (SKIP LOCKED)"),
]


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    monkeypatch.setattr(sending, "resolve", lambda host, port: ["93.184.215.14"])


def test_two_dispatchers_and_two_senders_never_double_a_delivery(merchant, make_order):
    endpoint_create(merchant=merchant, url="https://a.example.com/in")
    endpoint_create(merchant=merchant, url="https://b.example.com/in")
    for i in range(30):
        make_order(number=f"R-{i}")
    events = Event.objects.count()  # imported, and accepted by the review after commit
    assert events >= 30
    race(dispatch_events, dispatch_events)
    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() == 2 * events
    assert deliveries.values("event_id", "endpoint_id").distinct().count() == 2 * events
    lock = threading.Lock()
    seen = []

    def handle(request):
        with lock:
            seen.append(request.headers["webhook-id"] + request.headers["host"])
        return httpx.Response(200)

    def send():
        return sending.deliver_due(client=httpx.Client(transport=httpx.MockTransport(handle)))

    race(send, send)
    assert len(seen) == len(set(seen)) == 2 * events
    assert DeliveryAttempt.objects.count() == 2 * events
    assert set(deliveries.values_list("state", flat=True)) == {"delivered"}
