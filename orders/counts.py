"""How many orders a merchant has in each state (and hold reason): the numbers on the
dashboard's status tabs and sub-status chips. Everything that shows counts asks here."""

from django.db.models import Count

from .models import Order


def status_counts(merchant):
    """{(status, hold_reason): count} for one merchant; hold_reason is "" off hold."""
    rows = (
        Order.objects.filter(merchant=merchant)
        .values_list("status", "hold_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(status, reason): n for status, reason, n in rows}


def add_counts(merchant_id, deltas):
    """Adjust the kept counts of one merchant by `deltas`, {(status, hold_reason): +/-n}, for
    changes written without Order.save() (the importer's bulk inserts). Call it inside the
    transaction that writes the rows.

    On this branch the counts are not kept: status_counts() groups the orders on every read,
    so there is nothing to adjust. The kept per-merchant table replaces this function."""
