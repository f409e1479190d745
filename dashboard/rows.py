"""The order list's rows, read as plain values.

A page of fifty Order instances costs more than its query: each one runs the model's
__init__, the state machine's bookkeeping of its initial states, and builds the joined
fulfillment center. The list only shows a dozen columns, so it reads those as values into
OrderRow objects. The rules the row shows (stuck, late, the status catalog's labels) are
Order's own methods and properties, used on these values, so they are written once.
"""

from orders.models import Order

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
    "hold_detail",
    "no_return_by",
)


class OrderRow:
    __slots__ = (*(name for name in FIELDS if "__" not in name), "center_code", "center_name")

    # Order's rules, applied to the values this row holds.
    state = Order.state
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
            self.hold_detail,
            self.no_return_by,
        ) = values

    closing_soon = Order.closing_soon

    @property
    def pk(self):
        return self.id


def read_rows(queryset):
    """The rows of a sliced, ordered queryset of orders."""
    return [OrderRow(values) for values in queryset.values_list(*FIELDS)]
