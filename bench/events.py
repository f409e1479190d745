"""The bench case of issue 13: what a status change pays for its outbox event, and how fast
the worker delivers webhooks to a local receiver.

- Status change: `order_transition` hold, release and accept on print orders in Processing (a
  cycle that leaves them where they were), timed one by one, alternating rounds with the
  event written (the real path, including the after-commit
  enqueue of the dispatch task on the database task backend, as in production) and with the
  event rows left out. The difference of the medians is the event's cost.
- Delivery: N events of the big merchant dispatched to one endpoint on a local receiver
  (which verifies each signature with standardwebhooks), then sent by `deliver_due` as the
  worker runs it: events per second, dispatch included.

Everything it creates is removed again, except the hold/retry history rows (append-only).
"""

import statistics
import threading
import time

from django.conf import settings
from django.db import connection

from bench.generate import BIG
from orders import effects, notify_tasks
from orders.event_models import Event
from orders.models import Merchant, Order
from orders.notify import dispatch_events
from orders.services import order_transition
from orders.tasks import reviews_deferred
from orders.webhooks import sending
from orders.webhooks.demo_receiver import make_server
from orders.webhooks.models import WebhookEndpoint
from orders.webhooks.services import new_secret

REAL_BUILD = effects._change_events
CHANGES = 100  # orders per variant and round
ROUNDS = 4
DELIVERIES = 1000


_own = []  # ms spent building and inserting each change's event rows


def _timed_write(real_write, real_build):
    def build(order, pending):
        started = time.perf_counter()
        rows = real_build(order, pending)
        _own.append(time.perf_counter() - started)
        return rows

    def write(rows):
        started = time.perf_counter()
        result = real_write(rows)
        _own[-1] += time.perf_counter() - started
        return result

    return build, write


def _cycle(order, with_event, real_write):
    """ms per transition of a cycle that leaves the order where it was: hold, release (back
    to review), accept at its facility (Processing again)."""
    if with_event:
        effects._change_events, effects.write_events = _timed_write(real_write, REAL_BUILD)
    else:
        effects._change_events, effects.write_events = REAL_BUILD, (lambda rows: [])
    steps = [
        ("hold", "bench", {"reason": "special_requirements", "note": "bench"}),
        ("release", "bench", {}),
        ("accept", "review", {"center": order.center}),
    ]
    times = []
    for name, by, params in steps:
        started = time.perf_counter()
        order = order_transition(order=order, name=name, by=by, params=params)
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure_status_change():
    merchant = Merchant.objects.get(slug=BIG)
    ids = list(
        Order.objects.filter(
            merchant=merchant, status="processing", flow="print", center__isnull=False
        )
        .order_by("-id")
        .values_list("pk", flat=True)[:CHANGES]
    )
    real_write = effects.write_events
    real_task = notify_tasks.dispatch_events_task
    # As in production: the dispatch task is enqueued on the database backend after commit.
    notify_tasks.dispatch_events_task = real_task.using(backend="database")
    settings.NOTIFY_IN_BACKGROUND = True
    with_times, without_times = [], []
    before = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    try:
        with reviews_deferred():
            for round_ in range(ROUNDS):
                orders = Order.objects.filter(pk__in=ids).select_related("center").order_by("pk")
                # Every order takes turns with and without (order by order, flipping each
                # round), so neither variant gets the faster orders or the quieter moment.
                for i, order in enumerate(orders):
                    with_event = (i + round_) % 2 == 0
                    times = _cycle(order, with_event, real_write)
                    (with_times if with_event else without_times).extend(times)
    finally:
        effects.write_events = real_write
        effects._change_events = REAL_BUILD
        notify_tasks.dispatch_events_task = real_task
        settings.NOTIFY_IN_BACKGROUND = False
        Event.objects.filter(pk__gt=before).delete()
        _remove_queued_tasks()
    return {
        "own_ms": statistics.median(_own) * 1000 if _own else 0,
        "changes": len(with_times),
        "with_ms": statistics.median(with_times),
        "without_ms": statistics.median(without_times),
    }


def _remove_queued_tasks():
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path__startswith="orders.notify_tasks").delete()


def measure_delivery():
    merchant = Merchant.objects.get(slug=BIG)
    secret = new_secret()
    received = []
    server = make_server(port=0, secret=secret, out=received.append)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    settings.WEBHOOK_REQUIRE_HTTPS = False  # the local receiver speaks plain http
    endpoint = WebhookEndpoint.objects.create(
        merchant=merchant,
        url=f"http://127.0.0.1:{server.server_address[1]}/hooks",
        secret=secret,
        description="bench receiver",
    )
    before = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    orders = list(Order.objects.filter(merchant=merchant).order_by("-id")[:DELIVERIES])
    try:
        Event.objects.filter(dispatched_at=None).update(dispatched_at=endpoint.created_at)
        rows = [
            Event(
                merchant=merchant,
                order=o,
                type="order.accepted",
                payload={"version": 1, "number": o.number},
            )
            for o in orders
        ]
        effects.write_events(rows)
        started = time.perf_counter()
        dispatch_events(limit=len(rows))
        sent = sending.deliver_due()
        seconds = time.perf_counter() - started
        verified = sum(1 for line in received if "verified" in line)
    finally:
        server.shutdown()
        server.server_close()
        endpoint.delete()
        Event.objects.filter(pk__gt=before).delete()
        settings.WEBHOOK_ALLOW_LOOPBACK = False
        settings.WEBHOOK_REQUIRE_HTTPS = True
    return {
        "events": len(rows),
        "sent": sent,
        "verified": verified,
        "seconds": seconds,
        "per_s": sent / seconds if seconds else 0,
        "threads": sending.THREADS,
    }


def measure_events():
    changes = measure_status_change()
    delivery = measure_delivery()
    return {**changes, **delivery, "vendor": connection.vendor}


def render(result):
    extra = result["with_ms"] - result["without_ms"]
    return [
        f"- **Status change with its outbox event**: median "
        f"**{result['with_ms']:.2f} ms** with the event, {result['without_ms']:.2f} ms "
        f"without ({result['changes']} hold/release/accept transitions each, interleaved "
        "rounds): "
        f"the event costs **{extra:+.2f} ms** per change; building and inserting its row "
        f"inside the transaction takes **{result['own_ms']:.2f} ms** (median); the rest "
        "of the difference falls outside the event writer (the commit, and about once per "
        "300 ms queuing the dispatch task).",
        f"- **Webhook delivery throughput**: {result['sent']:,} events dispatched and sent to "
        f"a local receiver that verified {result['verified']:,} signatures in "
        f"{result['seconds']:.1f} s = **{result['per_s']:,.0f} events/s** "
        f"({result['threads']} sending threads, one endpoint).",
    ]
