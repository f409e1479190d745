"""How many orders a merchant has in each state (and hold reason): the numbers on the
dashboard's status tabs and sub-status chips. Everything that shows counts asks here.

The numbers are kept in StatusCount rather than counted per request: Order.save() moves one
unit between keys in the same transaction as the status change, bulk importers call
add_counts() in theirs, and rebuild_status_counts() recomputes everything from the orders
(for data generators and as a repair tool)."""

from django.db import connection, transaction
from django.db.models import Count, F

from .models import Order, StatusCount
from .prepared import Prepared

# Every list request reads these: the statement is built once (orders/prepared.py).
_COUNTS = Prepared(
    StatusCount,
    lambda merchant_id: StatusCount.objects.filter(merchant_id=merchant_id, n__gt=0).values_list(
        "status", "hold_reason", "n"
    ),
    int,
)


def status_counts(merchant):
    """{(status, hold_reason): count} for one merchant; hold_reason is "" off hold."""
    rows = _COUNTS(getattr(merchant, "pk", merchant))
    return {(status, reason): n for status, reason, n in rows}


def add_counts(merchant_id, deltas):
    """Apply {(status, hold_reason): delta} to a merchant's counts, inside the caller's
    transaction. Each key is one conditional UPDATE (n = n + delta), so concurrent writers
    add up instead of overwriting each other; a missing row is inserted first with
    ON CONFLICT DO NOTHING, so two writers creating it at once both succeed. Keys are
    applied in sorted order so two transactions never lock the same rows in opposite order.
    """
    merchant_id = getattr(merchant_id, "pk", merchant_id)
    with transaction.atomic():
        for (status, reason), delta in sorted(deltas.items()):
            if not delta:
                continue
            row = StatusCount.objects.filter(
                merchant_id=merchant_id, status=status, hold_reason=reason
            )
            if row.update(n=F("n") + delta):
                continue
            StatusCount.objects.bulk_create(
                [StatusCount(merchant_id=merchant_id, status=status, hold_reason=reason, n=0)],
                ignore_conflicts=True,
            )
            row.update(n=F("n") + delta)


def rebuild_status_counts(merchant=None):
    """Recompute the counts of one merchant (or all) from a GROUP BY over the orders.

    Meant for data generators and repairs, not for requests. On PostgreSQL the orders table
    is locked against writes for the duration so no transition slips between the count and
    the write; SQLite allows one writer at a time anyway."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Order._meta.db_table} IN SHARE MODE")
        orders = Order.objects.all()
        kept = StatusCount.objects.all()
        if merchant is not None:
            orders = orders.filter(merchant=merchant)
            kept = kept.filter(merchant=merchant)
        rows = (
            orders.values_list("merchant_id", "status", "hold_reason")
            .annotate(n=Count("id"))
            .order_by()
        )
        kept.delete()
        StatusCount.objects.bulk_create(
            StatusCount(merchant_id=m, status=s, hold_reason=r, n=n) for m, s, r, n in rows
        )
