"""The order list's rows, read as plain values.

A page of fifty Order instances costs more than its query: each one runs the model's
__init__, the state machine's bookkeeping of its initial states, and builds the joined
fulfillment center. The list only shows a dozen columns, so it reads those as values into
OrderRow objects. The rules the row shows (stuck, late, the status catalog's labels) are
Order's own methods and properties, used on these values, so they are written once.
"""

from orders.models import Order, OrderLine
from orders.notes import latest_notes
from orders.prepared import Prepared

FIELDS = (
    "id",
    "number",
    "status",
    "hold_reason",
    "customer_name",
    "customer_email",
    "created_at",
    "status_changed_at",
    "ship_by",
    "center_id",
    "center__code",
    "center__name",
    "carrier",
    "tracking_number",
    "total",
    "currency",
    "payment_status",
    "hold_note",
    "failure_reason",
    "hold_detail",
    "no_return_by",
)


class OrderRow:
    __slots__ = (
        *(name for name in FIELDS if "__" not in name),
        "center_code",
        "center_name",
        "relevance",
        "item_count",
        "first_sku",
        "latest_note",
    )

    # Order's rules, applied to the values this row holds.
    state = Order.state
    owner_label = Order.owner_label
    group = Order.group
    hold_info = Order.hold_info
    is_stuck = Order.is_stuck
    is_late = Order.is_late

    def __init__(self, values):
        (
            self.id,
            self.number,
            self.status,
            self.hold_reason,
            self.customer_name,
            self.customer_email,
            self.created_at,
            self.status_changed_at,
            self.ship_by,
            self.center_id,
            self.center_code,
            self.center_name,
            self.carrier,
            self.tracking_number,
            self.total,
            self.currency,
            self.payment_status,
            self.hold_note,
            self.failure_reason,
            self.hold_detail,
            self.no_return_by,
        ) = values
        self.relevance = 0
        self.item_count = 0
        self.first_sku = ""
        self.latest_note = None

    closing_soon = Order.closing_soon

    @property
    def pk(self):
        return self.id


def read_rows(queryset):
    """The rows of a sliced, ordered queryset of orders (a search's carry its relevance,
    which its cursor needs)."""
    if "relevance" not in queryset.query.annotations:
        return [OrderRow(values) for values in queryset.values_list(*FIELDS)]
    rows = []
    for values in queryset.values_list(*FIELDS, "relevance"):
        row = OrderRow(values[:-1])
        row.relevance = values[-1]
        rows.append(row)
    return rows


# One statement per page length (orders/prepared.py).
_LINES_OF = Prepared(
    OrderLine,
    lambda ids: (
        OrderLine.objects.filter(order_id__in=ids)
        .order_by("order_id", "id")
        .values_list("order_id", "sku", "quantity")
    ),
    list,
)


def attach_details(rows):
    """Items (count and first SKU) and the latest internal note of a page of rows: two
    queries, however many rows."""
    ids = [row.id for row in rows]
    if not ids:
        return rows
    by_id = {row.id: row for row in rows}
    for order_id, sku, quantity in _LINES_OF(ids):
        row = by_id[order_id]
        if not row.first_sku:
            row.first_sku = sku
        row.item_count += quantity
    for order_id, note in latest_notes(ids).items():
        by_id[order_id].latest_note = note
    return rows
