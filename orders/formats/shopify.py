"""Shopify's "Export orders" CSV, uploaded as it comes out of the store.

Its conventions, and what we do with them:

- one row per line item; the order's own fields (email, addresses, totals, statuses) are
  filled on the order's first row only, later rows repeat the `Name` and hold the
  `Lineitem ...` columns: the order is read from its first row, lines from every row;
- orders are named `#1001`: the order number is `1001`;
- zip codes (and phones) are written with a leading apostrophe so spreadsheets keep their
  leading zeros: the apostrophe is dropped;
- `Financial Status` becomes our payment status (FINANCIAL_STATUS below); a refunded or
  voided order is not imported (nothing is paid for it);
- an order with `Cancelled at` set, or already fulfilled by the store, is skipped with that
  reason; a line the store already fulfilled is left out with a note;
- lines that need no shipping (`Lineitem requires shipping` = false: gift cards, tips) are
  left out with a note; an order with nothing left to ship is skipped.

Every other column (and there are dozens: taxes, discounts, billing, tags, risk) is ignored.
"""

import csv
from decimal import Decimal, InvalidOperation

from ..importing import ImportFileError, Outcome, _rows, group_rows
from ..statuses import Payment

# The headers that identify the export (compared ignoring case and spaces).
SIGNATURE_COLUMNS = [
    "Name",
    "Email",
    "Financial Status",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem sku",
    "Shipping Address1",
]

# Shopify's financial status (its words, some spelled like ours) -> our payment status, or
# None: not imported, for the reason.
FINANCIAL_STATUS = {
    "paid": Payment.PAID,
    "pending": Payment.PENDING,
    "authorized": Payment.PENDING,  # authorised, not captured yet: nothing taken so far
    "partially_paid": Payment.PENDING,  # not paid in full yet
    "partially_refunded": Payment.PARTIALLY_REFUNDED,
    "refunded": None,
    "voided": None,
}
NOT_IMPORTED = {
    "refunded": "refunded in the store: not imported",
    "voided": "payment voided in the store: not imported",
}

# Our order fields and the Shopify columns they are read from (the first filled one wins).
ORDER_FIELDS = {
    "customer_email": ["Email"],
    "customer_name": ["Billing Name", "Shipping Name"],
    "customer_phone": ["Phone", "Shipping Phone", "Billing Phone"],
    "ship_name": ["Shipping Name"],
    "address1": ["Shipping Address1", "Shipping Street"],
    "address2": ["Shipping Address2"],
    "city": ["Shipping City"],
    "region": ["Shipping Province"],
    "postal_code": ["Shipping Zip"],
    "country": ["Shipping Country"],
    "ship_option": ["Shipping Method"],
    "currency": ["Currency"],
    "total": ["Total"],
}
LINE_FIELDS = {
    "sku": "Lineitem sku",
    "quantity": "Lineitem quantity",
    "unit_price": "Lineitem price",
    "item_name": "Lineitem name",
}
# Written with a leading apostrophe to keep leading zeros (or a leading +) in spreadsheets.
APOSTROPHE_FIELDS = {"postal_code", "customer_phone"}
NO = {"false", "no", "0"}


def _key(name):
    return " ".join(str(name).split()).casefold()


def matches(headers):
    names = {_key(h) for h in headers}
    return all(_key(c) in names for c in SIGNATURE_COLUMNS)


def order_number(name):
    """`#1001` -> `1001`: Shopify prefixes its order names with '#'."""
    return name.strip().removeprefix("#").strip()


class _Row(dict):
    """One file row by Shopify column name (case and spaces ignored), values stripped."""

    def get_text(self, column):
        value = self.get(_key(column), "")
        return value.strip()

    def first(self, columns):
        return next((v for v in (self.get_text(c) for c in columns) if v), "")


def read(text):
    """The export's orders (see the module docstring) as a Reading."""
    from . import Reading, rows_reader

    reader = rows_reader(text)
    try:
        header = [_key(h) for h in next(reader)]
    except (StopIteration, csv.Error):
        raise ImportFileError("The file is empty or not valid CSV.") from None
    orders = {}
    count = 0
    for row, values in _rows(reader):
        count += 1
        record = _Row(zip(header, values, strict=False))
        number = order_number(record.get_text("Name"))
        key = number or f"#row{row}"
        entry = orders.setdefault(key, {"row": row, "first": record, "lines": []})
        entry["lines"].append((row, record))
    rows, notes, payments = [], [], {}
    for key, entry in orders.items():
        number = "" if key.startswith("#row") else key
        reason = _skip_reason(entry["first"])
        kept = []
        for row, record in entry["lines"]:
            left_out = _line_left_out(record)
            if left_out and not reason:
                notes.append(
                    Outcome(row=row, number=number, outcome="note", field="line", message=left_out)
                )
            elif not left_out:
                kept.append((row, record))
        if not reason and not kept:
            reason = "nothing to ship: no line of it needs shipping"
        if reason:
            notes.append(
                Outcome(row=entry["row"], number=number, outcome="skipped", message=reason)
            )
            continue
        payments[number] = _payment(entry["first"])
        for position, (row, record) in enumerate(kept):
            raw = {"order_number": number}
            if position == 0:
                raw.update(_order_fields(entry["first"]))
            raw.update({ours: record.get_text(theirs) for ours, theirs in LINE_FIELDS.items()})
            rows.append((row, raw))
    inputs, _rows_read = group_rows(rows) if rows else ([], 0)
    for order_input in inputs:
        payment, refunded = payments.get(order_input.number, ("", None))
        order_input.payment = payment
        if refunded is not None:
            order_input.fields["refunded_amount"] = refunded
    return Reading(inputs=inputs, count=count, notes=sorted(notes, key=lambda o: o.row))


def _order_fields(record):
    fields = {ours: record.first(theirs) for ours, theirs in ORDER_FIELDS.items()}
    for name in APOSTROPHE_FIELDS:
        fields[name] = fields[name].removeprefix("'")
    return fields


def _skip_reason(record):
    cancelled = record.get_text("Cancelled at")
    if cancelled:
        return f"cancelled in the store ({cancelled}): not imported"
    if record.get_text("Fulfillment Status").lower() == "fulfilled":
        return "already fulfilled by the store: not imported"
    status = record.get_text("Financial Status").lower()
    return NOT_IMPORTED.get(status, "")


def _line_left_out(record):
    name = record.get_text("Lineitem name") or record.get_text("Lineitem sku") or "this line"
    if record.get_text("Lineitem requires shipping").lower() in NO:
        return f"'{name}' needs no shipping (a gift card or tip): left out."
    if record.get_text("Lineitem fulfillment status").lower() == "fulfilled":
        return f"'{name}' was already fulfilled by the store: left out."
    return ""


def _payment(record):
    """(our payment status as the importer takes it, refunded amount or None)."""
    status = record.get_text("Financial Status").lower()
    ours = FINANCIAL_STATUS.get(status) or Payment.PENDING
    refunded = None
    if ours == Payment.PARTIALLY_REFUNDED:
        try:
            refunded = Decimal(record.get_text("Refunded Amount") or "0")
        except InvalidOperation:
            refunded = Decimal("0")
        if not refunded.is_finite() or refunded < 0 or refunded >= Decimal("1e10"):
            refunded = Decimal("0")
        refunded = refunded.quantize(Decimal("0.01"))
    # The importer leaves pending as the model's default (no payment history row).
    return ("" if ours == Payment.PENDING else ours), refunded
