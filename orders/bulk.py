"""One transition on many orders at once: the staff's bulk actions in the admin.

`order_transition_many` gives every order exactly what `order_transition` gives one (the
same checks under a row lock, the transition, its history row, kept counts, stock, outcome
event, audit entry and messages), but a chunk of orders shares one transaction: the rows are
locked with one query, the lines read with one, and the effects written once per chunk
through the one writer (orders/effects.py). Each order's row is still written by its own
guarded save after its own transition. A chunk that fails as a whole (stock taken meanwhile,
a database error) is rolled back and redone one order at a time through `order_transition`,
so one bad order never stops the others.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django_fsm import TransitionNotAllowed

from . import audit, effects, search
from .models import Order
from .plans import prepared
from .services import ActionRefused, is_person, order_transition, refusal_reason

log = logging.getLogger(__name__)

CHUNK = 100


@dataclass
class BulkOutcome:
    """The orders a bulk transition was applied to, and those it was refused for, each with
    the message `order_transition` would have raised ("Order N: why.")."""

    done: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # (order, message)


def order_transition_many(*, items, name, by, note="", chunk=None):
    """Staff (the admin's bulk actions): apply transition `name` as `by` to each order of
    `items`, [(order, params)], where it is allowed, as `order_transition` would one by one.

    An order's `seen_status` attribute, if set, is the status the person saw (defaults to the
    instance's status); an order that has moved on since is refused ("changed meanwhile").
    `params` are the transition's own arguments for that order. Returns a BulkOutcome, the
    orders in the order of `items`."""
    chunk = chunk or CHUNK
    outcome = BulkOutcome()
    for start in range(0, len(items), chunk):
        part = items[start : start + chunk]
        try:
            results = _apply_chunk(part, name, by, note)
        except Exception:
            log.exception("bulk %s: a chunk failed; applying its orders one by one", name)
            results = [_apply_one(order, params, name, by, note) for order, params in part]
        for order, message in results:
            if message is None:
                outcome.done.append(order)
            else:
                outcome.refused.append((order, message))
    return outcome


def _apply_one(order, params, name, by, note):
    try:
        changed = order_transition(
            order=order,
            name=name,
            by=by,
            note=note,
            params=params,
            expected_status=getattr(order, "seen_status", None),
        )
    except ActionRefused as exc:
        return order, exc.message
    return changed, None


def _values(order):
    return {f.name: getattr(order, f.attname) for f in Order._meta.concrete_fields}


def _apply_chunk(part, name, by, note):
    """[(order, None or the refusal message)] for one chunk, written in one transaction."""
    person = by if is_person(by) else None
    results = []
    applied = []  # (locked order, its values before the transition)
    with prepared(), transaction.atomic():
        # One query locks the chunk's rows (in id order: two bulk actions cannot deadlock),
        # one reads their lines for the stock effects.
        locked = {
            order.pk: order
            for order in Order.objects.select_for_update()
            .filter(pk__in=[order.pk for order, _params in part])
            .prefetch_related("lines")
            .order_by("pk")
        }
        for order, params in part:
            current = locked.get(order.pk)
            message = _refusal(order, current, name, person)
            if message is None:
                before = _values(current)
                params = params or {}
                current.act_as(by, note or str(params.get("note") or params.get("reason") or ""))
                try:
                    getattr(current, name)(**params)
                except (TransitionNotAllowed, ValueError, TypeError) as exc:
                    message = f"Order {current.number}: {exc}"
                else:
                    applied.append((current, before))
            results.append((current if message is None else order, message))
        _write(applied)
        if audit.is_audited(by):
            audit.record_many(
                [
                    audit.entry(
                        name,
                        by=by,
                        merchant=order.merchant_id,
                        numbers=[order.number],
                        outcome=audit.DONE if message is None else audit.REFUSED,
                        reason="" if message is None else message,
                    )
                    for order, message in results
                ]
            )
    return results


def _refusal(order, current, name, person):
    """The message order_transition would refuse this order with, or None."""
    if current is None:
        return f"Order {order.number} no longer exists."
    seen = getattr(order, "seen_status", None) or order.status
    if current.status != seen:
        return (
            f"Order {current.number} changed meanwhile: it is now {current.state.label}. "
            "Nothing was done."
        )
    why = refusal_reason(current, name, person)
    return f"Order {current.number}: {why}." if why else None


def _write(applied):
    """The chunk's effects and rows: stock first (a reservation that finds no stock fails
    the chunk before anything is written), then each order's guarded save of the fields its
    transition changed, then counts, history and events for the chunk, and the search text
    of the orders whose searched fields changed."""
    pending = []
    for order, _before in applied:
        pending.append(order.__dict__.get("_pending_changes") or [])
        order._pending_changes = []
    effects.apply_stock_moves(
        [
            (order, move)
            for (order, _before), changes in zip(applied, pending, strict=True)
            if (move := effects.stock_move(order, changes)) is not None
        ]
    )
    saved, searched = [], []
    for (order, before), changes in zip(applied, pending, strict=True):
        loaded = order._count_key
        now = _values(order)
        if tuple(now[name] for name in search.SEARCHED_FIELDS) != order._search_key:
            searched.append(order.pk)
        order.save_in_chunk([name for name, value in now.items() if before[name] != value])
        saved.append((order, changes, loaded))
    effects.record_chunk(saved)
    if searched:
        search.reindex(searched)
