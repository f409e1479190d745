"""The review step: decides whether an order in Import Review can be fulfilled, and where.

`review_order(order_id)` runs the SPEC's checks in order and either accepts the order (choosing
the facility, reserving stock, setting ship-by, copying the carrier and service of its ship
option) or holds it with the first failing reason. Every status change goes through
`order_transition` as the system actor "review", so each leaves a history row.

Who calls it: the review task (orders.tasks), which runs after every import, submit, retry,
approve and release; and the batch importer, which reviews its orders in one pass.
"""

import logging
import os
import threading
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, connections, transaction

from . import effects
from . import hold_detail as hd
from . import statuses as st
from .addresses import address_errors, address_suggestions
from .counts import add_counts
from .matching import mapping_for, mappings_by_option, products_by_sku
from .models import (
    FulfillmentCenter,
    InsufficientStock,
    InventoryLevel,
    Order,
    OrderLine,
    Product,
    StatusChange,
)
from .plans import prepared
from .services import ActionRefused, order_transition
from .statuses import Hold, Payment, Status

log = logging.getLogger(__name__)

REVIEWER = "review"


@dataclass
class ReviewCache:
    """Reference data a run of many reviews reads once: facilities and ship-option mappings
    change rarely, stock levels are read fresh for every order."""

    centers: list | None = None
    mappings: dict = field(default_factory=dict)

    def all_centers(self):
        if self.centers is None:
            self.centers = list(FulfillmentCenter.objects.order_by("code"))
        return self.centers

    def mapping_for(self, merchant_id, option):
        if merchant_id not in self.mappings:
            self.mappings[merchant_id] = mappings_by_option([merchant_id])
        return mapping_for(self.mappings[merchant_id], merchant_id, option)


def review_order(order_id, *, cache=None):
    """System only (the review task, the batch importer): review one order.

    Does nothing unless the order is in Import Review (a review requested twice, or for an
    order that moved on meanwhile, is harmless). Returns the order as it is afterwards.
    """
    cache = cache or ReviewCache()
    with transaction.atomic():
        # Lock the order row only: a plain FOR UPDATE over the join would also lock the
        # merchant's row, serialising every review of a merchant and deadlocking with
        # inserts that check their foreign key to that merchant at commit.
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("merchant")
            .filter(pk=order_id)
            .first()
        )
        if order is None or order.status != Status.IMPORT_REVIEW:
            return order
        lines = list(order.lines.select_related("product"))
        _link_new_products(order, lines)
        failing = first_failing_check(order, lines, cache)
        if failing:
            return _hold(order, *failing)
        return _accept_somewhere(order, lines, cache)


def first_failing_check(order, lines, cache):
    """(hold reason, note, detail) for the first check the order fails, in the SPEC's
    order; None when only the stock check is left. The detail says exactly what failed
    (orders/hold_detail.py)."""
    if not lines:
        return (
            Hold.PRODUCT_CONFIGURATION,
            "The order has no lines.",
            hd.product_configuration(no_lines=True),
        )
    unknown = [line.sku for line in lines if line.product_id is None]
    if unknown:
        return (
            Hold.PRODUCT_CONFIGURATION,
            f"Unknown SKU: {', '.join(sorted(set(unknown)))}.",
            hd.product_configuration(unknown=unknown),
        )
    unconnected = {line.product.sku: line.product for line in lines if not line.product.connected}
    if unconnected:
        return (
            Hold.NOT_CONNECTED,
            f"Not connected: {', '.join(sorted(unconnected))}.",
            {"products": [{"sku": p.sku, "name": p.name} for _, p in sorted(unconnected.items())]},
        )
    flows = {}
    for line in lines:
        flows.setdefault(line.product.flow, []).append(line.product.sku)
    if len(flows) > 1:
        return (
            Hold.PRODUCT_CONFIGURATION,
            "The order mixes stock items and print products; split it into two orders.",
            hd.product_configuration(mixed=flows),
        )
    if not order.ship_option.strip():
        return (
            Hold.PRODUCT_CONFIGURATION,
            "The order has no ship option.",
            hd.product_configuration(ship_option=""),
        )
    if cache.mapping_for(order.merchant_id, order.ship_option) is None:
        return (
            Hold.PRODUCT_CONFIGURATION,
            f"Ship option '{order.ship_option}' is not mapped to a carrier service.",
            hd.product_configuration(ship_option=order.ship_option.strip()),
        )
    address = order.address_dict()
    problems = address_errors(address)
    if problems:
        return (
            Hold.INVALID_ADDRESS,
            " ".join(problems.values()),
            hd.invalid_address(problems, address_suggestions(address, problems)),
        )
    waiting = [line.sku for line in lines if not line.personalization_complete]
    if waiting:
        return (
            Hold.PENDING_PERSONALIZATION,
            f"Personalization not finished for {', '.join(sorted(set(waiting)))}.",
            {"skus": sorted(set(waiting))},
        )
    if order.needs_approval and order.approved_at is None:
        return (
            Hold.PENDING_APPROVAL,
            "This order needs manual approval.",
            hd.staff_check(Hold.PENDING_APPROVAL),
        )
    if order.payment_status == Payment.REFUSED:
        return Hold.PAYMENT_REFUSED, "The payment was refused.", _payment_detail(order)
    return None


def _payment_detail(order):
    """The processor's reason from the refusal's history row, if it gave one."""
    refusal = (
        StatusChange.objects.filter(order=order, field="payment_status", target=Payment.REFUSED)
        .order_by("-created_at", "-id")
        .values_list("reason", flat=True)
        .first()
    )
    return {"processor_reason": refusal} if refusal else None


def shortage_detail(order, lines, cache):
    """insufficient_inventory: per product, how many the order needs and how many each
    stock facility has free, with the expected restock date where staff entered one."""
    needed = Counter()
    sku_of = {}
    for line in lines:
        needed[line.product_id] += line.quantity
        sku_of[line.product_id] = line.product
    centers = {c.pk: c.code for c in cache.all_centers() if c.handles_stock}
    available = {pid: dict.fromkeys(centers.values(), 0) for pid in needed}
    restock = {}
    for center_id, product_id, on_hand, reserved, expected in InventoryLevel.objects.filter(
        product_id__in=needed, center_id__in=centers
    ).values_list("center_id", "product_id", "on_hand", "reserved", "restock_expected"):
        available[product_id][centers[center_id]] = on_hand - reserved
        if expected and (product_id not in restock or expected < restock[product_id]):
            restock[product_id] = expected
    every = [
        {
            "sku": sku_of[pid].sku,
            "name": sku_of[pid].name,
            "needed": qty,
            "available": available[pid],
            "restock": restock[pid].isoformat() if pid in restock else None,
        }
        for pid, qty in sorted(needed.items(), key=lambda item: sku_of[item[0]].sku)
    ]
    # The products no facility has enough of; if each is somewhere but never all together,
    # every product, so the merchant sees where each one is.
    short = [item for item in every if max(item["available"].values(), default=0) < item["needed"]]
    return {"short": short or every}


def lead_days(order, lines):
    """A print order's production lead time: the longest of its products' own, else None
    (the facility's)."""
    if order.flow != st.PRINT:
        return None
    own = [line.product.production_lead_days for line in lines if line.product_id]
    own = [days for days in own if days is not None]
    return max(own) if own else None


def _link_new_products(order, lines, products=None):
    """A SKU unknown at import may have been added since (the merchant fixed it and
    retried): link it now, and let the flow follow the products as at import. `products`
    ({sku: Product} of the order's merchant) saves the look-up when the caller made it for
    many orders at once."""
    missing = [line for line in lines if line.product_id is None]
    if not missing:
        return
    if products is None:
        products = products_by_sku(order.merchant_id, {line.sku for line in missing})
    linked = []
    for line in missing:
        if line.sku in products:
            line.product = products[line.sku]
            linked.append(line)
    if not linked:
        return
    OrderLine.objects.bulk_update(linked, ["product"])
    kinds = {line.product.kind for line in lines if line.product_id}
    order.flow = st.STOCK if kinds <= {"stock"} else st.PRINT
    order.has_embroidery = "embroidery" in kinds
    Order.objects.filter(pk=order.pk).update(flow=order.flow, has_embroidery=order.has_embroidery)


def candidate_centers(order, lines, cache, available=None):
    """Facilities that can ship the whole order now, those in the customer's country first.

    For stock orders a facility qualifies when it has every product available in the needed
    quantity; print orders need a facility that produces print. This is a read: the accept
    itself reserves with a conditional UPDATE, so a facility that lost its stock meanwhile is
    refused there and the next one is tried. `available` ({(center id, product id): units})
    saves the read when the caller already holds the levels.
    """
    if order.flow == st.PRINT:
        able = [c for c in cache.all_centers() if c.handles_print]
    else:
        needed = {}
        for line in lines:
            needed[line.product_id] = needed.get(line.product_id, 0) + line.quantity
        if available is None:
            available = {}
            for center_id, product_id, on_hand, reserved in InventoryLevel.objects.filter(
                product_id__in=needed
            ).values_list("center_id", "product_id", "on_hand", "reserved"):
                available[center_id, product_id] = on_hand - reserved
        able = [
            c
            for c in cache.all_centers()
            if c.handles_stock
            and all(available.get((c.pk, p), 0) >= qty for p, qty in needed.items())
        ]
    return sorted(able, key=lambda c: (c.country != order.country, c.code))


def _accept_somewhere(order, lines, cache):
    mapping = cache.mapping_for(order.merchant_id, order.ship_option)
    for center in candidate_centers(order, lines, cache):
        try:
            return order_transition(
                order=order,
                name="accept",
                by=REVIEWER,
                note=f"Ships from {center.code}",
                params={
                    "center": center,
                    "carrier": mapping.carrier,
                    "service": mapping.service,
                    "lead_days": lead_days(order, lines),
                },
            )
        except ActionRefused as exc:
            if not isinstance(exc.__cause__, InsufficientStock):
                raise
            log.info("review: %s lost its stock at %s; trying the next facility", order, center)
    if order.flow == st.PRINT:
        return _hold(
            order,
            Hold.SPECIAL_REQUIREMENTS,
            "No facility can produce this order; staff will check.",
            hd.staff_check(Hold.SPECIAL_REQUIREMENTS),
        )
    return _hold(
        order,
        Hold.INSUFFICIENT_INVENTORY,
        "No facility has stock for the whole order.",
        shortage_detail(order, lines, cache),
    )


def _hold(order, reason, note, detail=None):
    return order_transition(
        order=order,
        name="hold",
        by=REVIEWER,
        params={"reason": reason, "note": note, "detail": detail},
    )


REVIEW_CHUNK = 200


def review_orders(order_ids, *, on_progress=None, chunk=None, processes=None):
    """System only: review many orders (an import batch's) with shared reference data.

    Orders are reviewed a chunk at a time (see _review_chunk) with the same checks and the
    same outcomes as `review_order`: the same transitions, history rows, stock reservations
    and status counts. A chunk that fails is rolled back as a whole and redone one order at a
    time through `review_order`, so one bad order cannot stop the others.
    `on_progress(n)` is called after each chunk with the number of orders it reviewed.

    On PostgreSQL the chunks are shared out between `processes` (REVIEW_PROCESSES, 2)
    processes when that can be done safely (see _can_fork); elsewhere, and for fewer orders
    than two chunks, one process reviews them all. Returns how many orders were reviewed.
    """
    chunk = chunk or REVIEW_CHUNK
    processes = settings.REVIEW_PROCESSES if processes is None else processes
    parts = [order_ids[start : start + chunk] for start in range(0, len(order_ids), chunk)]
    if processes > 1 and len(parts) > 1 and _can_fork():
        return _review_in_processes(parts, processes, on_progress)
    return _review_parts(parts, on_progress)


def _review_parts(parts, on_progress):
    cache = ReviewCache()
    done = 0
    for part in parts:
        try:
            _review_chunk(part, cache)
        except Exception:
            log.exception("review: a chunk failed; reviewing its orders one by one")
            for order_id in part:
                review_order(order_id, cache=cache)
        done += len(part)
        if on_progress:
            on_progress(len(part))
    return done


def _can_fork():
    """Reviewing in a second process forks this one, which is safe only on PostgreSQL
    (SQLite has one writer at a time: nothing to gain), outside a transaction (the other
    process could not see its rows, and the connection is closed before the fork), and on
    the main thread of a process that runs no requests beside it (the task worker, the
    import command, the benchmark; a web server's threads are left alone)."""
    return (
        hasattr(os, "fork")
        and connection.vendor == "postgresql"
        and not any(c.in_atomic_block for c in connections.all(initialized_only=True))
        and threading.current_thread() is threading.main_thread()
    )


def _review_in_processes(parts, processes, on_progress):
    """Chunk i is reviewed by process i % `processes`: this one and forked children.

    A chunk reviewed in another process is exactly as one reviewed here (its own
    transaction, the same writers). The chunks' orders are disjoint; what two chunks share,
    the stock levels and the kept counts, is written last in each chunk's transaction and
    in one fixed order (_review_chunk), so the processes neither deadlock nor wait long. A
    child reports each chunk it finished through a pipe, read here between chunks. If a
    child fails, its orders still in Import Review are reviewed here afterwards, so every
    order is reviewed whatever happens."""
    # Forked children must not share this process's database connections: close them; each
    # process opens its own on its next query.
    connections.close_all()
    children = []
    for k in range(1, processes):
        mine = [part for i, part in enumerate(parts) if i % processes == k]
        if not mine:
            continue
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(read_end)
            os._exit(_child_review(mine, write_end))
        os.close(write_end)
        os.set_blocking(read_end, False)
        children.append((pid, read_end, mine))
    unread = {}  # a child's report not yet ended by its newline

    def report(fd):
        """Pass on what a child has reported so far; False once it has closed its end."""
        while True:
            try:
                data = os.read(fd, 512)
            except BlockingIOError:
                return True
            if not data:
                return False
            *lines, unread[fd] = (unread.get(fd, b"") + data).split(b"\n")
            for line in lines:
                if on_progress:
                    on_progress(int(line))

    def progress(n):
        if on_progress:
            on_progress(n)
        for _pid, fd, _mine in children:
            report(fd)

    failed = []
    try:
        done = _review_parts([p for i, p in enumerate(parts) if i % processes == 0], progress)
    finally:
        for pid, fd, mine in children:
            os.set_blocking(fd, True)
            while report(fd):
                pass
            os.close(fd)
            _pid, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                failed.extend(mine)
    if failed:
        log.error("review: a review process failed; reviewing what it left here")
        _review_parts(failed, None)
    return done + sum(len(part) for _pid, _fd, mine in children for part in mine)


def _child_review(parts, write_end):
    """In a forked child: review `parts`, telling the parent each chunk's size. Returns the
    exit code (it never returns to the caller's code)."""
    code = 1
    try:
        with os.fdopen(write_end, "wb", buffering=0) as reports:
            _review_parts(parts, lambda n: reports.write(b"%d\n" % n))
        code = 0
    except BaseException:
        log.exception("review: the review process failed")
    finally:
        connections.close_all()
    return code


# What a review writes on an order row, by the state it leaves it in: the status and its
# time, and for an accept the facility, carrier, ship-by, point of no return and reservation,
# for a hold its reason, note and detail. (Linking a new SKU writes the flow itself.)
REVIEWED_FIELDS = {
    Status.PROCESSING: [
        "status",
        "status_changed_at",
        "no_return_by",
        "center",
        "carrier",
        "service",
        "ship_by",
        "stock_reserved",
    ],
    Status.ACTION_REQUIRED: [
        "status",
        "status_changed_at",
        "hold_reason",
        "hold_note",
        "hold_detail",
    ],
}


def _review_chunk(order_ids, cache):
    """Review a chunk in one transaction. The chunk's rows are locked (`select_for_update`,
    in id order so two runs cannot deadlock) and their lines read in one query; each order
    goes through its `accept` or `hold` transition (django-fsm checks it and records it for
    the history) on its locked row and is saved with Order.save(), whose concurrent-transition
    guard only writes a row still in Import Review. What would cost a query or more per order
    is written once for the chunk: the reserved stock with one conditional UPDATE per
    (facility, product), the history rows with one insert, and the kept status counts with
    add_counts() (each save is told the chunk keeps them)."""
    with prepared(), transaction.atomic():
        orders = list(
            Order.objects.select_for_update()
            .filter(pk__in=order_ids, status=Status.IMPORT_REVIEW)
            .order_by("pk")
        )
        if not orders:
            return
        lines_of = _chunk_lines(orders)
        # The chunk's products once each (a chunk's orders share most of them), instead of a
        # copy joined to every line.
        products = Product.objects.in_bulk(
            {line.product_id for lines in lines_of.values() for line in lines} - {None}
        )
        for lines in lines_of.values():
            for line in lines:
                if line.product_id is not None:
                    line.product = products[line.product_id]
        new_products = _new_products_of_chunk(orders, lines_of)
        for order in orders:
            _link_new_products(order, lines_of[order.pk], new_products.get(order.merchant_id))
        stock = _StockBook(
            {line.product_id for lines in lines_of.values() for line in lines if line.product_id}
        )
        deltas = {}
        for order in orders:
            lines = lines_of[order.pk]
            failing = first_failing_check(order, lines, cache)
            if failing:
                _transition(order, "hold", reason=failing[0], note=failing[1], detail=failing[2])
            else:
                _accept_from_book(order, lines, cache, stock)
            merchant_deltas = deltas.setdefault(order.merchant_id, Counter())
            merchant_deltas[Status.IMPORT_REVIEW, ""] -= 1
            merchant_deltas[order.status, order.hold_reason] += 1
        changed = []
        for order in orders:
            # The chunk writes the stock and counts itself, and the history and events
            # through the one writer (orders/effects.py): save_in_chunk() writes the row.
            changed.append((order, order.__dict__.get("_pending_changes") or []))
            order._pending_changes = []
            order.save_in_chunk(REVIEWED_FIELDS[order.status])
        effects.write_changes(changed)
        # What other chunks (another review process, a bulk action) write too comes last,
        # so its row locks are held only until the commit: the reserved stock, then the
        # counts, each in a fixed order.
        stock.write()
        for merchant_id in sorted(deltas):
            add_counts(merchant_id, {k: n for k, n in deltas[merchant_id].items() if n})


def _chunk_lines(orders):
    """{order id: its lines in id order} for a chunk, read with one query. Each line knows
    its order without a query; the orders' own `lines` managers are not filled (nothing in a
    chunk's review reads them), which saves building a related manager per order."""
    by_id = {order.pk: order for order in orders}
    lines_of = {pk: [] for pk in by_id}
    order_field = OrderLine._meta.get_field("order")
    for line in OrderLine.objects.filter(order_id__in=by_id).order_by("id"):
        order_field.set_cached_value(line, by_id[line.order_id])
        lines_of[line.order_id].append(line)
    return lines_of


def _new_products_of_chunk(orders, lines_of):
    """{merchant id: {sku: Product}} for the chunk's lines that had no product at import,
    one look-up per merchant instead of one per order (see _link_new_products)."""
    missing = {}
    for order in orders:
        for line in lines_of[order.pk]:
            if line.product_id is None:
                missing.setdefault(order.merchant_id, set()).add(line.sku)
    return {merchant: products_by_sku(merchant, skus) for merchant, skus in missing.items()}


def _transition(order, name, why="", **params):
    """Apply a transition to the instance only; _review_chunk writes the result. The history
    row's reason is `why`, else the hold note, as order_transition records it."""
    order.act_as(REVIEWER, why or str(params.get("note") or params.get("reason") or ""))
    getattr(order, name)(**params)


def _accept_from_book(order, lines, cache, stock):
    needed = Counter()
    for line in lines:
        needed[line.product_id] += line.quantity
    mapping = cache.mapping_for(order.merchant_id, order.ship_option)
    for center in candidate_centers(order, lines, cache, available=stock.available):
        if order.flow == st.STOCK and not stock.take(center, needed):
            continue
        _transition(
            order,
            "accept",
            why=f"Ships from {center.code}",
            center=center,
            carrier=mapping.carrier,
            service=mapping.service,
            lead_days=lead_days(order, lines),
        )
        order.stock_reserved = order.flow == st.STOCK
        return
    if order.flow == st.PRINT:
        _transition(
            order,
            "hold",
            reason=Hold.SPECIAL_REQUIREMENTS,
            note="No facility can produce this order; staff will check.",
            detail=hd.staff_check(Hold.SPECIAL_REQUIREMENTS),
        )
    else:
        _transition(
            order,
            "hold",
            reason=Hold.INSUFFICIENT_INVENTORY,
            note="No facility has stock for the whole order.",
            detail=shortage_detail(order, lines, cache),
        )


class _StockBook:
    """The stock levels of a chunk's products as the chunk starts; what the chunk's accepts
    take is subtracted here and reserved at the end of the chunk's transaction (`write`)
    with the same conditional UPDATE an accept uses, in a fixed order. The levels are not
    locked while the chunk works, so two review processes (or a review and a bulk action)
    share them; if another writer took the units meanwhile, `write` raises, the chunk rolls
    back and its orders are reviewed one by one (review_orders)."""

    def __init__(self, product_ids):
        levels = InventoryLevel.objects.filter(product_id__in=product_ids).values_list(
            "center_id", "product_id", "on_hand", "reserved"
        )
        self.available = {(c, p): on_hand - reserved for c, p, on_hand, reserved in levels}
        self.taken = Counter()

    def take(self, center, needed):
        if any(self.available.get((center.pk, p), 0) < qty for p, qty in needed.items()):
            return False
        for product_id, qty in needed.items():
            self.available[center.pk, product_id] -= qty
            self.taken[center.pk, product_id] += qty
        return True

    def write(self):
        table = connection.ops.quote_name(InventoryLevel._meta.db_table)
        sql = (
            f"UPDATE {table} SET reserved = reserved + %s "
            "WHERE center_id = %s AND product_id = %s AND on_hand >= reserved + %s"
        )
        params = [[qty, c, p, qty] for (c, p), qty in sorted(self.taken.items())]
        if not params:
            return
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
            if cursor.rowcount != len(params):
                # Another writer took some of these units since the chunk read the levels.
                raise InsufficientStock("Stock changed during review")
