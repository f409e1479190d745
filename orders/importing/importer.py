"""The importer: the SPEC's reimport rules applied to parsed orders, a chunk at a time."""

import logging
from itertools import chain

from django.db import DataError, IntegrityError
from django.db.models import Q

from .. import audit
from ..models import ROW_REFUSED, Order
from ..services import DRAFT_FLAG, order_create_many
from ..statuses import Status
from .format import Outcome

log = logging.getLogger("orders.importing")

CHUNK = 500
# The store reports the payment's state with the order: it is recorded like the first row.
PAYMENT_REASON = "as reported by the store"


# --- the importer ------------------------------------------------------------------------


def import_orders(*, merchant, inputs, by, on_chunk=None, chunk=None):
    """Anyone allowed to import for `merchant` (a manager, a token of this merchant, the
    command line): apply the reimport rules to each OrderInput and create what is new.

    `by` is the user or system name recorded in the history. Orders are looked up and created
    a chunk at a time, each chunk in one transaction with bulk inserts; if a chunk cannot be
    written (an order the database refuses, or the same number imported elsewhere meanwhile)
    that chunk is redone one order per transaction, so the bad order is reported and never
    half there while the others come in. Returns one Outcome per order (and one per error
    found in it). `on_chunk(outcomes, rows_done)` is called after each chunk, for progress
    and for storing reports.
    """
    chunk = chunk or CHUNK
    outcomes = []
    rows_done = 0
    audited = audit.is_audited(by)
    for start in range(0, len(inputs), chunk):
        part = inputs[start : start + chunk]
        results = _import_chunk(merchant, part, by)
        new = [outcome for result in results for outcome in result]
        if audited:
            audit.record_many(
                [
                    _audit_entry(merchant, order_input, by, result)
                    for order_input, result in zip(part, results, strict=True)
                ]
            )
        outcomes.extend(new)
        rows_done += sum(len(i.rows) or 1 for i in part)
        if on_chunk:
            on_chunk(new, rows_done)
    return outcomes


def _import_chunk(merchant, part, by):
    """The outcomes of each input of `part`, in order (a list per input)."""
    existing = _existing_orders(merchant, [i.number for i in part if not i.errors])
    results = {}
    to_create = []  # (position, input, clean-swept row it reimports)
    repeated = []  # a number twice in one chunk: the second is "already imported"
    numbers = set()
    for position, order_input in enumerate(part):
        if order_input.errors:
            results[position] = _error_outcomes(order_input)
            continue
        earlier = existing.get(order_input.number, [])
        live = next((o for o in earlier if o.status != Status.CLEAN_SWEPT), None)
        if live is not None:
            results[position] = [_blocked(order_input, live)]
        elif order_input.number in numbers:
            repeated.append(position)
        else:
            numbers.add(order_input.number)
            to_create.append((position, order_input, earlier[0] if earlier else None))
    try:
        orders = order_create_many(
            merchant=merchant,
            by=by,
            items=[_item(order_input, swept) for _p, order_input, swept in to_create],
            payment_reason=PAYMENT_REASON,
        )
    except Exception:
        # Nothing of the chunk is left (one transaction): redo it one order at a time, so
        # only the order that cannot be stored is reported and the others come in.
        log.info("import: a chunk of %s could not be written at once; one by one", merchant)
        for position, order_input, _swept in to_create:
            results[position] = _import_one(merchant, order_input, by, existing)
        for position in repeated:
            results[position] = _import_one(merchant, part[position], by, existing)
    else:
        for (position, order_input, swept), order in zip(to_create, orders, strict=True):
            existing[order_input.number] = [order, *existing.get(order_input.number, [])]
            results[position] = [_created(order_input, order, swept)]
        for position in repeated:
            order_input = part[position]
            results[position] = [_blocked(order_input, existing[order_input.number][0])]
    return [results[position] for position in range(len(part))]


def _item(order_input, swept):
    fields = dict(order_input.fields)
    if order_input.payment:
        fields["payment_status"] = order_input.payment
    return {
        "number": order_input.number,
        "lines": order_input.lines,
        DRAFT_FLAG: order_input.draft,
        "reimport_of": swept,
        "fields": fields,
    }


def _existing_orders(merchant, numbers):
    """{number: [orders with it, newest first]}. The live order is found through the unique
    index of live numbers (the query repeats its condition so the index applies); clean-swept
    rows through the status index."""
    found = {}
    if not numbers:
        return found
    mine = Order.objects.filter(merchant=merchant, number__in=numbers)
    live = mine.filter(~Q(status=Status.CLEAN_SWEPT))
    swept = mine.filter(status=Status.CLEAN_SWEPT).order_by("-created_at", "-id")
    for order in chain(live, swept):
        found.setdefault(order.number, []).append(order)
    return found


def _error_outcomes(order_input):
    return [
        Outcome(row=row, number=order_input.number, outcome="error", field=name, message=message)
        for row, name, message in order_input.errors
    ]


def _created(order_input, order, swept):
    kind = "reimported" if swept else "created"
    message = "Saved as a draft." if order_input.draft else ""
    if swept:
        message = f"Reimport of the clean-swept order from {swept.created_at:%Y-%m-%d}. {message}"
    return Outcome(
        row=order_input.row,
        number=order_input.number,
        outcome=kind,
        message=message.strip(),
        order=order,
        earlier=swept,
    )


def _import_one(merchant, order_input, by, existing):
    """One order in its own transaction: the fallback when a chunk could not be written."""
    number = order_input.number
    if order_input.errors:
        return _error_outcomes(order_input)
    earlier = existing.get(number, [])
    live = next((o for o in earlier if o.status != Status.CLEAN_SWEPT), None)
    if live is not None:
        return [_blocked(order_input, live)]
    swept = earlier[0] if earlier else None
    try:
        (order,) = order_create_many(
            merchant=merchant,
            by=by,
            items=[_item(order_input, swept)],
            payment_reason=PAYMENT_REASON,
        )
    except IntegrityError:
        # Someone imported the same number between our look-up and our insert.
        live = Order.objects.filter(merchant=merchant, number=number).visible().first()
        if live is None:
            return [_failed(order_input)]
        return [_blocked(order_input, live)]
    except DataError:
        return [
            Outcome(
                row=order_input.row,
                number=number,
                outcome="error",
                message="The database refused a value of this order (too long or malformed).",
            )
        ]
    except Exception:
        # The order's transaction rolled back whole (no order, lines or history are left);
        # report it and go on with the others rather than stop the import half-way.
        return [_failed(order_input)]
    existing[number] = [order, *earlier]
    return [_created(order_input, order, swept)]


def _failed(order_input):
    log.exception("importing order %r failed; nothing of it was stored", order_input.number)
    return Outcome(
        row=order_input.row,
        number=order_input.number,
        outcome="error",
        message="This order could not be stored because of an internal error; nothing of it "
        "was imported. Try again later; support has the details.",
    )


def _audit_entry(merchant, order_input, by, outcomes):
    """One audit entry per order of an import: done when created, refused with why not."""
    ok = [o for o in outcomes if o.ok]
    if ok:
        return audit.entry(
            "import", by=by, merchant=merchant, numbers=[ok[0].number], outcome=audit.DONE
        )
    reason = "; ".join(
        f"row {o.row} {o.field}: {o.message}" if o.field else o.message for o in outcomes
    )
    return audit.entry(
        "import",
        by=by,
        merchant=merchant,
        numbers=[order_input.number],
        outcome=audit.REFUSED,
        reason=reason,
    )


def _blocked(order_input, live):
    if live.status == Status.CANCELLED:
        return Outcome(
            row=order_input.row,
            number=order_input.number,
            outcome=ROW_REFUSED,
            message="cancelled: not reimported",
            earlier=live,
        )
    return Outcome(
        row=order_input.row,
        number=order_input.number,
        outcome="skipped",
        message="already imported",
        earlier=live,
    )
