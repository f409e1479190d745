"""The import format: the template's columns and what they mean, the values a cell may
hold, and what parsing hands the importer (OrderInput) and the importer reports (Outcome)."""

from dataclasses import dataclass, field

from ..models import Order
from ..services import DRAFT_FLAG
from ..statuses import Payment

# CSV columns, in the template's order: one row per order line, the order's fields repeat.
ORDER_COLUMNS = [
    "order_number",
    DRAFT_FLAG,
    "customer_name",
    "customer_email",
    "customer_phone",
    "ship_name",
    "address1",
    "address2",
    "city",
    "region",
    "postal_code",
    "country",
    "ship_option",
    "currency",
    "total",
    "payment",
    "needs_approval",
]
LINE_COLUMNS = [
    "sku",
    "quantity",
    "unit_price",
    "item_name",
    "personalization",
    "personalization_complete",
]
COLUMNS = ORDER_COLUMNS + LINE_COLUMNS
REQUIRED_COLUMNS = ["order_number", "sku", "quantity"]
COLUMN_HELP = {
    "order_number": "Your store's order number (required; identifies the order).",
    DRAFT_FLAG: "yes to save as a Draft that you submit later; empty or no to submit at once.",
    "customer_name": "Buyer's name.",
    "customer_email": "Buyer's email address.",
    "customer_phone": "Buyer's phone number.",
    "ship_name": "Recipient name.",
    "address1": "Street address.",
    "address2": "Apartment, suite, etc.",
    "city": "City.",
    "region": "State or province (required for US, CA, AU).",
    "postal_code": "ZIP or postal code.",
    "country": "Two-letter ISO country code, e.g. US, GB, DE.",
    "ship_option": "Shipping option as your store names it (mapped to a carrier service).",
    "currency": "Three-letter currency code; USD if empty.",
    "total": "Order total; the sum of the lines if empty.",
    "payment": "paid, pending or refused; pending if empty.",
    "needs_approval": "yes to hold the order for manual approval.",
    "sku": "Product SKU (required).",
    "quantity": "Whole number of units, at least 1 (required).",
    "unit_price": "Price per unit.",
    "item_name": "Product name as your store shows it.",
    "personalization": "Personalization text for this item.",
    "personalization_complete": "no while the buyer has not finished personalising; yes if empty.",
}
TEMPLATE_EXAMPLE = [
    {
        "order_number": "1001",
        "customer_name": "Ava Smith",
        "customer_email": "ava@example.com",
        "ship_name": "Ava Smith",
        "address1": "1 Market Street",
        "city": "New York",
        "region": "NY",
        "postal_code": "10001",
        "country": "US",
        "ship_option": "Standard",
        "currency": "USD",
        "payment": Payment.PAID,
        "sku": "TEE-BLK-M",
        "quantity": "2",
        "unit_price": "24.00",
    },
    {
        "order_number": "1001",
        "customer_name": "Ava Smith",
        "customer_email": "ava@example.com",
        "ship_name": "Ava Smith",
        "address1": "1 Market Street",
        "city": "New York",
        "region": "NY",
        "postal_code": "10001",
        "country": "US",
        "ship_option": "Standard",
        "currency": "USD",
        "payment": Payment.PAID,
        "sku": "MUG-11",
        "quantity": "1",
        "unit_price": "12.00",
    },
]

TEXT_FIELDS = [
    "customer_name",
    "customer_phone",
    "ship_name",
    "address1",
    "address2",
    "city",
    "region",
    "postal_code",
    "country",
    "ship_option",
]
PAYMENTS = {
    "": "",
    Payment.PENDING: "",
    Payment.PAID: Payment.PAID,
    Payment.REFUSED: Payment.REFUSED,
}
TRUE = {"yes", "y", "true", "1"}
FALSE = {"no", "n", "false", "0", ""}


class ImportFileError(Exception):
    """The file as a whole cannot be imported (size, encoding, columns, row count)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass
class OrderInput:
    number: str
    row: int
    fields: dict = field(default_factory=dict)
    lines: list = field(default_factory=list)
    draft: bool = False
    payment: str = ""
    errors: list = field(default_factory=list)  # (row, field, message)
    rows: list = field(default_factory=list)


@dataclass
class Outcome:
    row: int
    number: str
    outcome: str
    field: str = ""
    message: str = ""
    order: Order | None = None
    earlier: Order | None = None

    @property
    def ok(self):
        return self.outcome in ("created", "reimported")
