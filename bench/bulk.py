"""The bench case of issue 16's bulk staff transitions: Hold… and Release in the Django
admin on BULK_ORDERS orders in Processing at once, each a real POST of the admin's bulk
action as staff (the changelist, the service of orders/bulk.py with its row locks, history,
kept counts, stock, outbox events and audit entries, the messages).

It runs on orders the import case has just created (and removes again with them), so the
database is left as it was found: each round holds and releases its own slice of them."""

import time

from django.contrib.auth import get_user_model
from django.test import Client

from bench.generate import STAFF
from orders.models import Order
from orders.statuses import Hold, Status
from orders.tasks import reviews_deferred

BULK_ORDERS = 500
URL = "/admin/orders/order/"


def staff_client():
    client = Client()
    client.force_login(get_user_model().objects.get(username=STAFF))
    return client


def _post(client, data):
    response = client.post(URL, data)
    if response.status_code != 302:
        raise RuntimeError(f"the admin answered {response.status_code} to a bulk action")


def measure_bulk_round(client, order_ids):
    """Hold… then Release on up to BULK_ORDERS of `order_ids` that are in Processing:
    {"orders": n, "hold_s": seconds, "release_s": seconds}. Released orders wait in Import
    Review (their review is not part of the case)."""
    ids = list(
        Order.objects.filter(pk__in=order_ids, status=Status.PROCESSING)
        .order_by("pk")
        .values_list("pk", flat=True)[:BULK_ORDERS]
    )
    selected = {"_selected_action": ids}
    with reviews_deferred():
        started = time.perf_counter()
        _post(
            client,
            {
                **selected,
                "action": "bulk_hold",
                "apply": "1",
                "reason": Hold.SPECIAL_REQUIREMENTS,
                "note": "bench",
            },
        )
        held = time.perf_counter()
        _post(client, {**selected, "action": "bulk_release", "index": "0"})
        released = time.perf_counter()
    moved = Order.objects.filter(pk__in=ids, status=Status.IMPORT_REVIEW).count()
    if moved != len(ids):
        raise RuntimeError(f"bulk hold and release moved {moved} of {len(ids)} orders")
    return {"orders": len(ids), "hold_s": held - started, "release_s": released - held}
