"""The one writer of a status change's effects.

Every path that changes an order's status or payment status (Order.save() after a
transition, the single and bulk creators, review's chunked save) calls here, inside the
transaction of the change, and gets the same effects:

- stock: reserve on accept, consume on hand-over, release when the order leaves fulfillment;
- the kept status counts (StatusCount) and the order lines' copy of "listed";
- one StatusChange history row per transition (or creation);
- one Event row (the outbox) per change that matters to the merchant (orders/events.py);
- a review request, after commit, when an order enters Import Review.

The audit log (who asked, done or refused) is written by the services around these calls.
Nothing else writes history or event rows; consumers (webhooks, e-mail, the inbox) read the
events (orders/notify.py) and never hook into transitions.
"""

import contextlib
import contextvars
from collections import Counter

from django.db import connection, models, transaction

from . import events as ev
from . import statuses as st
from .bulkinsert import insert_rows
from .statuses import Status

# The import batch whose work is being done (set by the batch runner), so its events can be
# summarised in one e-mail when the batch finishes.
_batch = contextvars.ContextVar("event_batch", default=None)


@contextlib.contextmanager
def for_batch(batch):
    token = _batch.set(getattr(batch, "pk", batch))
    try:
        yield
    finally:
        _batch.reset(token)


def actor_of(by):
    """(user or None, name) for a history row: a user, or a system name such as "review"."""
    user = by if isinstance(by, models.Model) else None
    return user, (user.get_username() if user else by) or "system"


# --- stock ---------------------------------------------------------------------------------


def _stock_lines(order):
    quantities = Counter()
    for line in order.lines.all():
        if line.product_id:
            quantities[line.product_id] += line.quantity
    return sorted(quantities.items())  # a fixed order avoids lock-order deadlocks


# What a status change does to stock: reserve (accept), consume (hand-over) or release (the
# order leaves fulfillment or goes back to review).
RESERVE, CONSUME, RELEASE = "reserve", "consume", "release"


def stock_move(order, changes):
    """RESERVE, CONSUME, RELEASE or None: what the pending `changes` of `order` do to its
    stock. The one rule both writers below follow."""
    if order.flow != st.STOCK:
        return None
    move = None
    reserved = order.stock_reserved
    for field, name, _source, target in changes:
        if field != "status":
            continue
        if name == "accept":
            move, reserved = RESERVE, True
        elif name == "hand_over" and reserved:
            move, reserved = CONSUME, False
        elif target in st.RELEASES_STOCK and reserved:
            move, reserved = RELEASE, False
    return move


def apply_stock(order, changes):
    """Stock effects of the pending `changes`; runs before the order row is written (an
    accept that finds no stock raises InsufficientStock and nothing is saved)."""
    move = stock_move(order, changes)
    if move is not None:
        apply_stock_moves([(order, move)])


def apply_stock_moves(moves):
    """Stock effects of many orders' changes [(order, move)] (a chunk of a bulk action, or
    one order): the quantities are summed per (facility, product) and each sum is one
    UPDATE, in a fixed order (no lock-order deadlocks). A reservation is conditional: if a
    facility no longer has the units, InsufficientStock is raised and the caller's
    transaction rolls back. Sets each order's stock_reserved."""
    from .models import InsufficientStock, InventoryLevel

    sums = {RESERVE: Counter(), CONSUME: Counter(), RELEASE: Counter()}
    for order, move in moves:
        for product_id, qty in _stock_lines(order):
            sums[move][order.center_id, product_id] += qty
        order.stock_reserved = move == RESERVE
    table = connection.ops.quote_name(InventoryLevel._meta.db_table)
    where = "WHERE center_id = %s AND product_id = %s"
    for move, sql, params in [
        (
            RESERVE,
            # Conditional: concurrent accepts cannot both take the last unit.
            f"UPDATE {table} SET reserved = reserved + %s {where} AND on_hand >= reserved + %s",
            lambda qty, center_id, product_id: [qty, center_id, product_id, qty],
        ),
        (
            CONSUME,
            f"UPDATE {table} SET on_hand = on_hand - %s, reserved = reserved - %s {where}",
            lambda qty, center_id, product_id: [qty, qty, center_id, product_id],
        ),
        (
            RELEASE,
            f"UPDATE {table} SET reserved = reserved - %s {where}",
            lambda qty, center_id, product_id: [qty, center_id, product_id],
        ),
    ]:
        rows = [params(qty, *key) for key, qty in sorted(sums[move].items())]
        if not rows:
            continue
        # One round trip for all of them (psycopg pipelines executemany); the row count is
        # their total.
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
            taken = cursor.rowcount
        if move == RESERVE and taken != len(rows):
            short = [o for o, m in moves if m == RESERVE]
            names = ", ".join(str(o) for o in short)
            raise InsufficientStock(f"Not enough stock at {short[0].center} for {names}")


# --- counts --------------------------------------------------------------------------------


def move_count(order, old, new):
    """Move one order's unit in the kept counts from key `old` (None when created) to `new`
    (keys are (merchant_id, status, hold_reason)), and keep its lines' "listed" copy."""
    from .counts import add_counts
    from .models import OrderLine, is_listed

    deltas = {}
    if old is not None:
        deltas.setdefault(old[0], {})[old[1:]] = -1
    deltas.setdefault(new[0], {})
    deltas[new[0]][new[1:]] = deltas[new[0]].get(new[1:], 0) + 1
    for merchant_id in sorted(deltas):  # a fixed order avoids lock-order deadlocks
        add_counts(merchant_id, deltas[merchant_id])
    if old is not None and is_listed(old[1]) != is_listed(new[1]):
        # The lines' copy of "listed" (see OrderLine) follows a clean sweep.
        OrderLine.objects.filter(order=order).update(listed=is_listed(new[1]))


# --- history and events --------------------------------------------------------------------


def _history_rows(order, pending):
    from .models import StatusChange

    user, name = actor_of(order.__dict__.get("_actor"))
    reason = order.__dict__.get("_reason", "")
    return [
        StatusChange(
            order_id=order.pk,
            field=field,
            transition=transition_name,
            source=source,
            target=target,
            actor_id=user.pk if user else None,
            actor_name=name,
            reason=reason,
        )
        for field, transition_name, source, target in pending
    ]


def _event(order, event_type, change=None):
    from .event_models import Event

    return Event(
        merchant_id=order.merchant_id,
        order_id=order.pk,
        batch_id=_batch.get(),
        type=event_type,
        payload=ev.payload(event_type, ev.order_data(order), change=change),
    )


def _change_events(order, pending):
    rows = []
    for field, name, source, target in pending:
        event_type = ev.type_for_change(field, source, target)
        if event_type:
            change = {"field": field, "transition": name, "from": source, "to": target}
            rows.append(_event(order, event_type, change))
    return rows


def write_events(rows):
    """Insert outbox rows (inside the caller's transaction) and have them dispatched after
    commit. The only writer of Event rows."""

    if not rows:
        return []
    insert_rows(rows)
    transaction.on_commit(_dispatch_after_commit)
    return rows


def _dispatch_after_commit():
    from .notify_tasks import schedule_dispatch

    schedule_dispatch()


def write_changes(changed):
    """History rows and events for [(order, pending transitions)], in one insert each. The
    caller has already written the orders (and their stock and counts)."""

    history, events = [], []
    for order, pending in changed:
        history.extend(_history_rows(order, pending))
        events.extend(_change_events(order, pending))
    insert_rows(history)
    write_events(events)
    entering_review = [
        order.pk
        for order, pending in changed
        if any(f == "status" and t == Status.IMPORT_REVIEW for f, _n, _s, t in pending)
    ]
    if entering_review:
        transaction.on_commit(lambda: _request_reviews(entering_review))


def _request_reviews(order_ids):
    from .models import Order
    from .signals import review_requested

    for order_id in order_ids:
        review_requested.send(sender=Order, order_id=order_id)


def record_save(order, pending, move):
    """Order.save(): everything after the row is written (inside its transaction)."""
    if move:
        move_count(order, *move)
    if pending:
        write_changes([(order, pending)])


def record_chunk(saved):
    """A chunk's orders after their rows were written, [(order, pending transitions, count
    key it was loaded with)] (a bulk action's chunk): the kept counts with one summed delta
    per key, the lines' "listed" copy, then history rows and events in one insert each."""
    from .counts import add_counts
    from .models import OrderLine, is_listed

    deltas = {}
    listed = {True: [], False: []}
    for order, _pending, old in saved:
        new = (order.merchant_id, order.status, order.hold_reason)
        if old == new:
            continue
        deltas.setdefault(old[0], Counter())[old[1:]] -= 1
        deltas.setdefault(new[0], Counter())[new[1:]] += 1
        if is_listed(old[1]) != is_listed(new[1]):
            listed[is_listed(new[1])].append(order.pk)
    for merchant_id in sorted(deltas):  # a fixed order avoids lock-order deadlocks
        add_counts(merchant_id, {key: n for key, n in deltas[merchant_id].items() if n})
    for value, ids in listed.items():
        if ids:
            OrderLine.objects.filter(order_id__in=ids).update(listed=value)
    write_changes([(order, pending) for order, pending, _old in saved])


def record_created(orders, *, by, payment_reason="", payment_reported=None, counted=False):
    """The first history row (create / import / reimport) of each new order, a payment
    history row where the store reported a payment status, an `order.imported` event for
    each order that enters review, the kept counts unless the caller's save() already
    moved them (`counted`), and the review request after commit."""
    from .counts import add_counts
    from .models import StatusChange

    user, name = actor_of(by)
    payment_reported = payment_reported or [False] * len(orders)
    history, events = [], []
    for order, reported in zip(orders, payment_reported, strict=True):
        draft = order.status == Status.DRAFT
        first = "reimport" if order.reimport_of_id else ("create" if draft else "import")
        history.append(
            StatusChange(
                order_id=order.pk,
                field="status",
                transition=first,
                source="",
                target=order.status,
                actor_id=user.pk if user else None,
                actor_name=name,
            )
        )
        if reported:
            history.append(
                StatusChange(
                    order_id=order.pk,
                    field="payment_status",
                    transition="import",
                    source="",
                    target=order.payment_status,
                    actor_id=user.pk if user else None,
                    actor_name=name,
                    reason=payment_reason,
                )
            )
        if not draft:
            change = {"field": "status", "transition": "import", "from": "", "to": order.status}
            events.append(_event(order, ev.IMPORTED, change))
    insert_rows(history)
    write_events(events)
    if not counted:
        by_merchant = {}
        for order in orders:
            by_merchant.setdefault(order.merchant_id, Counter())[order.status, ""] += 1
        for merchant_id in sorted(by_merchant):
            add_counts(merchant_id, by_merchant[merchant_id])
    to_review = [order.pk for order in orders if order.status == Status.IMPORT_REVIEW]
    if to_review:
        transaction.on_commit(lambda: _request_reviews(to_review))


def record_event(event_type, *, merchant, order=None, batch=None, data=None):
    """An event that is not a status change (a tracking scan that moved nothing, an address
    change request, a finished import), inside the caller's transaction."""
    from .event_models import Event

    if order is not None:
        document = ev.payload(event_type, {**ev.order_data(order), **(data or {})})
    else:
        document = ev.payload(event_type, data or {})
    row = Event(
        merchant_id=getattr(merchant, "pk", merchant),
        order=order,
        batch_id=getattr(batch, "pk", batch) or _batch.get(),
        type=event_type,
        payload=document,
    )
    write_events([row])
    return row
