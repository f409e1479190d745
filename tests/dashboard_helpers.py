"""Small helpers the dashboard tests share: put an order into a state through the real
transitions, and sign a user in."""

import datetime

from django.utils import timezone

from orders.models import Order
from orders.services import order_transition

from .conftest import PASSWORD


def login(client, user):
    assert client.login(username=user.get_username(), password=PASSWORD)
    return client


def search_with_sample(client, user, text, pieces_of):
    """The list searched for `text` by `user` with the sample of the orders taken now (and
    dropped after): (response, the SQL it ran, what pieces_of(folded text) chose)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders import search

    login(client, user)
    try:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/orders/", {"q": text})
        pieces = pieces_of(search.fold(text))
    finally:
        search.forget_sample()
    return response, " ".join(q["sql"] for q in ctx.captured_queries), pieces


def hold(order, staff, reason="invalid_address"):
    return order_transition(order=order, name="hold", by=staff, params={"reason": reason})


def fail(order, staff, reason="Artwork rejected: resolution too low"):
    return order_transition(order=order, name="fail", by=staff, params={"reason": reason})


def put_in(order, target, *, staff, manager, drive):
    """Any dashboard-relevant state, reached the way the product would reach it."""
    if target == "import_review":
        return order
    if target == "action_required":
        return hold(order, staff)
    if target == "failed":
        return fail(order, staff)
    if target == "cancelled":
        return order_transition(order=order, name="cancel", by=manager)
    if target == "clean_swept":
        return order_transition(order=order, name="clean_sweep", by=manager)
    return drive(order, target)


def make_stuck(order):
    """Backdate when it entered review (not a status field) so it counts as stuck."""
    Order.objects.filter(pk=order.pk).update(
        status_changed_at=timezone.now() - datetime.timedelta(minutes=30)
    )
    return Order.objects.get(pk=order.pk)


def make_late(order):
    """Move the ship-by promise into the past (not a status field)."""
    Order.objects.filter(pk=order.pk).update(ship_by=timezone.now() - datetime.timedelta(hours=2))
    return Order.objects.get(pk=order.pk)
