"""Importing orders: one importer behind the CSV upload, `manage.py import_orders`, the JSON
API and the new-order form.

Sources are parsed into OrderInput values (order fields, lines, and any field errors with the
row they were found on); `import_orders` then applies the SPEC's reimport rules to each, one
transaction per order, so a bad order never stops the good ones and never leaves half an order:

- no order with that number, or only clean-swept ones: create it (a reimport links to the
  latest clean-swept row) and start review;
- a live order exists: skipped, "already imported";
- a cancelled order exists: refused, "cancelled: not reimported".

Addresses, SKUs and ship options are not judged here: an order with an unknown SKU or an odd
address is imported and the review holds it with the reason the merchant can act on.
"""

import csv
import io
import json
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import chain

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DataError, IntegrityError
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from . import audit, effects, events
from .addresses import country_code
from .models import ImportBatch, ImportRow, Merchant, Order, OrderLine
from .services import order_create_many
from .text import unstorable

log = logging.getLogger(__name__)

MAX_BYTES = getattr(settings, "IMPORT_MAX_BYTES", 10 * 1024 * 1024)
MAX_ROWS = getattr(settings, "IMPORT_MAX_ROWS", 20_000)
MAX_QUANTITY = 10_000
TOTAL_LIMIT = Decimal("10000000000")
CHUNK = 500
# The store reports the payment's state with the order: it is recorded like the first row.
PAYMENT_REASON = "as reported by the store"

# CSV columns, in the template's order: one row per order line, the order's fields repeat.
ORDER_COLUMNS = [
    "order_number",
    "draft",
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
    "draft": "yes to save as a Draft that you submit later; empty or no to submit at once.",
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
        "payment": "paid",
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
        "payment": "paid",
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
PAYMENTS = {"": "", "pending": "", "paid": "paid", "refused": "refused"}
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


# --- cleaning values ---------------------------------------------------------------------


def _text(value):
    if value is None:
        return ""
    return str(value).strip()


def _flag(value, name, errors, row, default=False):
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text == "":
        return default
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    errors.append((row, name, f"'{value}' is not yes or no."))
    return default


def _decimal(value, name, errors, row):
    text = _text(value)
    if text == "":
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        errors.append((row, name, f"'{text}' is not a number (use a dot: 12.50)."))
        return None
    if not amount.is_finite() or amount < 0:
        errors.append((row, name, f"'{text}' must be zero or more."))
        return None
    if amount >= TOTAL_LIMIT or amount != amount.quantize(Decimal("0.01")):
        errors.append((row, name, f"'{text}' must have at most 2 decimals and 10 digits."))
        return None
    return amount


def _max_length(model, name):
    return model._meta.get_field(name).max_length


def _storable(values, row, errors, prefix=""):
    """Report text the database would refuse (API bodies can carry NUL and lone surrogates;
    an uploaded file is checked as a whole in decode_upload)."""
    for name, value in values.items():
        problem = isinstance(value, str) and unstorable(value)
        if problem:
            errors.append((row, prefix + name, f"The value {problem}"))


# The dashboard and the API put the number in URLs (dashboard/converters.py), where "/" would
# end the path segment and "." or ".." would be folded away by browsers.
_NUMBER_NOT_IN_URL = re.compile(r"/|^\.{1,2}$")


def clean_order_fields(raw, row, errors, prefix=""):
    """Order-level values from a CSV row or an API object. Returns (number, fields, draft,
    payment); problems are appended to `errors` as (row, field, message)."""
    number_field = "number" if "number" in raw else "order_number"
    number = _text(raw.get(number_field))
    if not number:
        errors.append((row, number_field, "The order number is required."))
    elif len(number) > _max_length(Order, "number"):
        errors.append((row, number_field, "The order number is longer than 64 characters."))
    elif _NUMBER_NOT_IN_URL.search(number):
        errors.append((row, number_field, "The order number cannot contain '/' or be '.' or '..'."))
    fields = {}
    for name in TEXT_FIELDS:
        value = _text(raw.get(name))
        limit = _max_length(Order, name)
        if len(value) > limit and name != "country":  # the country gets its own message
            errors.append((row, prefix + name, f"At most {limit} characters."))
        fields[name] = value
    if fields["country"]:
        # A country's name or ISO code ("Germany", "DEU", "de" are DE); never a guess.
        fields["country"] = country_code(fields["country"]) or fields["country"].upper()
        if not re.fullmatch(r"[A-Z]{2}", fields["country"]):
            errors.append(
                (
                    row,
                    prefix + "country",
                    "Use the country's name or two-letter ISO code, e.g. US.",
                )
            )
    email = _text(raw.get("customer_email"))
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append((row, prefix + "customer_email", f"'{email}' is not an email address."))
        else:
            limit = _max_length(Order, "customer_email")
            # Email syntax allows up to 320 characters; the column holds 254.
            if len(email) > limit:
                errors.append((row, prefix + "customer_email", f"At most {limit} characters."))
    fields["customer_email"] = email
    _storable({number_field: number, **fields}, row, errors, prefix)
    currency = _text(raw.get("currency")).upper() or "USD"
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors.append((row, prefix + "currency", f"'{currency}' is not a 3-letter currency code."))
    fields["currency"] = currency
    total = _decimal(raw.get("total"), prefix + "total", errors, row)
    if total is not None:
        fields["total"] = total
    fields["needs_approval"] = _flag(
        raw.get("needs_approval"), prefix + "needs_approval", errors, row
    )
    draft = _flag(raw.get("draft"), prefix + "draft", errors, row)
    payment_text = _text(raw.get("payment")).lower()
    if payment_text not in PAYMENTS:
        errors.append(
            (row, prefix + "payment", f"'{payment_text}' is not one of paid, pending, refused.")
        )
    return number, fields, draft, PAYMENTS.get(payment_text, "")


def clean_line(raw, row, errors, prefix=""):
    sku = _text(raw.get("sku"))
    if not sku:
        errors.append((row, prefix + "sku", "The SKU is required."))
    elif len(sku) > _max_length(OrderLine, "sku"):
        errors.append((row, prefix + "sku", "The SKU is longer than 64 characters."))
    quantity_text = _text(raw.get("quantity"))
    quantity = 1
    if not quantity_text:
        errors.append((row, prefix + "quantity", "The quantity is required."))
    elif not re.fullmatch(r"\d+", quantity_text) or not 1 <= int(quantity_text) <= MAX_QUANTITY:
        errors.append(
            (
                row,
                prefix + "quantity",
                f"'{quantity_text}' is not a whole number from 1 to {MAX_QUANTITY}.",
            )
        )
    else:
        quantity = int(quantity_text)
    name = _text(raw.get("item_name", raw.get("name")))
    if len(name) > _max_length(OrderLine, "name"):
        errors.append((row, prefix + "item_name", "At most 200 characters."))
    price = _decimal(raw.get("unit_price"), prefix + "unit_price", errors, row)
    personalization = _text(raw.get("personalization"))
    _storable(
        {"sku": sku, "item_name": name, "personalization": personalization}, row, errors, prefix
    )
    return {
        "sku": sku,
        "quantity": quantity,
        "name": name,
        "unit_price": price if price is not None else Decimal("0"),
        "personalization": personalization,
        "personalization_complete": _flag(
            raw.get("personalization_complete"),
            prefix + "personalization_complete",
            errors,
            row,
            default=True,
        ),
    }


def _finish(order_input):
    if "total" not in order_input.fields:
        total = sum(
            (line["unit_price"] * line["quantity"] for line in order_input.lines), Decimal("0")
        )
        # Quantity times price can outgrow the total's 12 digits, which PostgreSQL refuses.
        if total >= TOTAL_LIMIT:
            order_input.errors.append(
                (
                    order_input.row,
                    "total",
                    f"The lines add up to {total}: more than an order "
                    "total can hold (under 10,000,000,000).",
                )
            )
        order_input.fields["total"] = total
    return order_input


# --- sources -----------------------------------------------------------------------------


def decode_upload(data):
    """Text of an uploaded file: UTF-8 with or without a byte-order mark."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            f"The file is {len(data) // 1024} KB; at most {MAX_BYTES // (1024 * 1024)} MB "
            "can be imported at once. Split it into smaller files."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            "The file is not UTF-8 text. Save it as 'CSV UTF-8' and upload it again."
        ) from exc
    if "\x00" in text:
        # Valid UTF-8 but not text: UTF-16 without a byte-order mark, or a binary file.
        raise ImportFileError(
            "The file contains NUL characters, so it is not a UTF-8 text file (perhaps "
            "UTF-16 or a spreadsheet). Save it as 'CSV UTF-8' and upload it again."
        )
    return text


def parse_csv(text):
    """OrderInputs from CSV text, rows of the same order number grouped (in order of first
    appearance). Raises ImportFileError when the file as a whole is unusable."""
    reader, names = _reader(text)
    return group_rows(
        (row, dict(zip(names, values, strict=False))) for row, values in _rows(reader)
    )


def group_rows(rows):
    """OrderInputs from (row number, {our column: value}) pairs: the template's rows, or
    another file's rows once orders/formats/ has put them in our columns."""
    orders = {}
    seen_order_values = {}
    seen_rows = {}  # (order key, the row's values) -> the row they were first on
    count = 0
    for row, raw in rows:
        count += 1
        errors = []
        key = _text(raw.get("order_number")) or f"#row{row}"
        same = (key, tuple(_text(raw.get(name)) for name in COLUMNS))
        if same in seen_rows:
            # Merged, the two would be two lines and ship double.
            errors.append((row, "", _repeats(row, seen_rows[same])))
        seen_rows.setdefault(same, row)
        number, fields, draft, payment = clean_order_fields(raw, row, errors)
        line = clean_line(raw, row, errors)
        key = number or f"#row{row}"
        order_input = orders.get(key)
        order_values = {name: _text(raw.get(name)) for name in ORDER_COLUMNS}
        if order_input is None:
            order_input = orders[key] = OrderInput(
                number=number, row=row, fields=fields, draft=draft, payment=payment
            )
            seen_order_values[key] = order_values
        else:
            first = seen_order_values[key]
            for name in ORDER_COLUMNS:
                if order_values[name] and first[name] and order_values[name] != first[name]:
                    errors.append(
                        (
                            row,
                            name,
                            f"'{order_values[name]}' differs from row {order_input.row} "
                            f"('{first[name]}') of the same order.",
                        )
                    )
        order_input.rows.append(row)
        order_input.lines.append(line)
        order_input.errors.extend(errors)
    return [_finish(o) for o in orders.values()], count


def _repeats(row, first):
    return f"row {row} repeats row {first} exactly; for two units write quantity 2"


def _reader(text):
    """A CSV reader past the header, and the header's column names; raises ImportFileError
    when the header is unusable."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_separator(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("The file is empty.") from None
    except csv.Error as exc:
        raise ImportFileError(f"The file is not valid CSV: {exc}.") from None
    names = [h.strip().lower() for h in header]
    # "import_error" is the note column of a batch's errors CSV, fixed and uploaded again.
    unknown = [h for h in names if h and h not in COLUMNS and h != "import_error"]
    if unknown:
        hint = ""
        if any(sep in h for h in unknown for sep in SEPARATORS):
            hint = (
                " The file mixes separators (',', ';' or tabs): save it from your spreadsheet "
                "as 'CSV UTF-8 (Comma delimited)' and upload it again."
            )
        raise ImportFileError(
            f"Unknown column(s): {', '.join(unknown)}. Use the columns of the template.{hint}"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ImportFileError(f"Missing column(s): {', '.join(missing)}.")
    return reader, names


# Excel in European locales saves "CSV" with ';' between cells, and "Unicode text" with tabs.
SEPARATORS = [",", ";", "\t"]


def _separator(text):
    """The separator of the file's header line: the one that splits it into the most
    columns (a comma when they tie). Column names never hold one of them."""
    header = next(csv.reader(io.StringIO(text, newline="")), [""])
    first = ",".join(header)  # the header line, without any quoting a comma file uses
    counts = {sep: first.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def count_rows(text):
    """Validate a CSV's header, CSV syntax and row count without importing (values are
    checked by the import, row by row); returns the row count."""
    reader, _names = _reader(text)
    return sum(1 for _row in _rows(reader))


def _rows(reader):
    """(row number, values) for each row of the reader that is not blank. Raises
    ImportFileError for invalid CSV, more than MAX_ROWS rows, or none at all."""
    count = 0
    # Rows are numbered as a spreadsheet shows them: the header is row 1, and a quoted cell
    # holding a line break is still one row (reader.line_num counts the lines of the file).
    record = 1
    try:
        for values in reader:
            record += 1
            if not any(v.strip() for v in values):
                continue
            count += 1
            if count > MAX_ROWS:
                raise ImportFileError(
                    f"The file has more than {MAX_ROWS:,} rows; split it into smaller files."
                )
            yield record, values
    except csv.Error as exc:
        raise ImportFileError(f"Row {record + 1} is not valid CSV: {exc}.") from None
    if count == 0:
        raise ImportFileError("The file has a header but no order rows.")


def parse_api_order(data, index=1, *, prices_required=False):
    """An OrderInput from one API object: the CSV's order fields by name ("number" or
    "order_number"), and "lines": a list of {sku, quantity, unit_price, name,
    personalization, personalization_complete}.

    `prices_required` (the JSON API): an order without a total needs each line's
    unit_price, so a forgotten price is an error instead of a silent 0.00 total."""
    errors = []
    if not isinstance(data, dict):
        return OrderInput(number="", row=index, errors=[(index, "", "Each order is an object.")])
    number, fields, draft, payment = clean_order_fields(data, index, errors)
    lines = data.get("lines")
    cleaned = []
    if not isinstance(lines, list) or not lines:
        errors.append((index, "lines", "At least one line is required."))
    else:
        seen = {}  # each line as JSON -> the first line that was so
        for n, line in enumerate(lines):
            if not isinstance(line, dict):
                errors.append((index, f"lines[{n}]", "Each line is an object."))
                continue
            same = json.dumps(line, sort_keys=True)  # a dict read from JSON: always dumps
            first = seen.setdefault(same, n)
            if first != n:
                errors.append(
                    (
                        index,
                        f"lines[{n}]",
                        f"lines[{n}] repeats lines[{first}] exactly; for two units write "
                        "quantity 2",
                    )
                )
            cleaned.append(clean_line(line, index, errors, prefix=f"lines[{n}]."))
            if prices_required and "total" not in fields and _text(line.get("unit_price")) == "":
                errors.append(
                    (
                        index,
                        f"lines[{n}].unit_price",
                        "The price per unit is required when the order has no total "
                        "(0 for a free item).",
                    )
                )
    order_input = OrderInput(
        number=number,
        row=index,
        fields=fields,
        lines=cleaned,
        draft=draft,
        payment=payment,
        errors=errors,
    )
    return _finish(order_input)


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
        live = next((o for o in earlier if o.status != "clean_swept"), None)
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
        "draft": order_input.draft,
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
    live = mine.filter(~Q(status="clean_swept"))
    swept = mine.filter(status="clean_swept").order_by("-created_at", "-id")
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
    live = next((o for o in earlier if o.status != "clean_swept"), None)
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
    if live.status == "cancelled":
        return Outcome(
            row=order_input.row,
            number=order_input.number,
            outcome="refused",
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


# --- batches -----------------------------------------------------------------------------


def create_batch(
    *, merchant, content, by=None, filename="", source="csv", kind="template", mapping=None
):
    """Store an upload as a queued batch after checking the file as a whole; raises
    ImportFileError with a message for the uploader otherwise. `kind` and `mapping` say how
    its rows are read (orders/formats/)."""
    from .formats import count

    total = count(content, kind, mapping)
    batch = ImportBatch.objects.create(
        merchant=merchant,
        created_by=by if getattr(by, "pk", None) else None,
        source=source,
        filename=filename[:255],
        content=content,
        total_rows=total,
        kind=kind,
        mapping=mapping,
    )
    if audit.is_audited(by):
        # The batch's orders are recorded when it runs, under this entry's IP and page.
        audit.note(batch=batch.pk)
        audit.record(
            "import_upload",
            by=by,
            merchant=merchant,
            outcome=audit.DONE,
            reason=f"{filename or 'upload'}: {total} rows queued as batch {batch.pk}",
        )
    return batch


def run_batch(batch_id):
    """The batch task (or the command): import a stored batch, store its report, then review
    the orders it created, updating the progress the batch page shows. Running it again on
    a finished batch does nothing."""
    claimed = ImportBatch.objects.filter(pk=batch_id, state="queued").update(
        state="running", started_at=timezone.now()
    )
    if not claimed:
        return None
    batch = ImportBatch.objects.select_related("merchant", "created_by").get(pk=batch_id)
    # The batch's events (imported, held, accepted...) carry it, so that e-mail can
    # summarise them in one message when the batch has finished.
    with effects.for_batch(batch):
        try:
            return _run_claimed_batch(batch)
        finally:
            _announce_finished(batch)


def _announce_finished(batch):
    """The import.finished event, once the batch is done or failed."""
    batch = ImportBatch.objects.get(pk=batch.pk)
    if not batch.finished:
        return
    effects.record_event(
        events.IMPORT_FINISHED,
        merchant=batch.merchant_id,
        batch=batch,
        data={
            "import": {
                "id": batch.pk,
                "filename": batch.filename,
                "state": batch.state,
                "message": batch.message,
                "total_rows": batch.total_rows,
                "created": batch.created,
                "reimported": batch.reimported,
                "skipped": batch.skipped,
                "refused": batch.refused,
                "errors": batch.errors,
                "url": events.site_url(reverse("import_batch", args=[batch.pk])),
            }
        },
    )


def _run_claimed_batch(batch):
    from .formats import read_batch
    from .review import review_orders
    from .tasks import reviews_deferred

    try:
        reading = read_batch(batch)
        inputs = reading.inputs
        by = batch.created_by or f"import batch {batch.pk}"
        counts = dict.fromkeys(["created", "reimported", "skipped", "refused", "errors"], 0)
        to_review = []

        def store(outcomes, rows_done):
            ImportRow.objects.bulk_create(_report_row(batch, o) for o in outcomes)
            for o in outcomes:
                kind = "errors" if o.outcome == "error" else o.outcome
                if kind in counts:  # notes are reported, not counted
                    counts[kind] += 1
                if o.ok and o.order.status == "import_review":
                    to_review.append(o.order.pk)
            ImportBatch.objects.filter(pk=batch.pk).update(processed_rows=rows_done, **counts)

        if reading.notes:  # what the file's reader left out on purpose, and why
            store(reading.notes, 0)

        # The batch reviews its own orders below, in one pass with shared reference data,
        # instead of one task per order.
        with reviews_deferred(), audit.batch_origin(batch):
            import_orders(merchant=batch.merchant, inputs=inputs, by=by, on_chunk=store)
        ImportBatch.objects.filter(pk=batch.pk).update(orders_to_review=len(to_review))

        def reviewed(done):
            ImportBatch.objects.filter(pk=batch.pk).update(orders_reviewed=done)

        review_orders(to_review, on_progress=reviewed)
        ImportBatch.objects.filter(pk=batch.pk).update(state="done", finished_at=timezone.now())
    except ImportFileError as exc:
        _fail(batch, exc.message)
    except Exception:
        log.exception("import batch %s failed", batch.pk)
        _fail(batch, "The import stopped because of an internal error; support has the details.")
        raise
    return batch.pk


def _fail(batch, message):
    ImportBatch.objects.filter(pk=batch.pk).update(
        state="failed", message=message, finished_at=timezone.now()
    )


def _report_row(batch, outcome):
    return ImportRow(
        batch=batch,
        row=outcome.row,
        number=outcome.number[:200],
        outcome=outcome.outcome,
        field=outcome.field,
        message=outcome.message,
        order=outcome.order,
        earlier=outcome.earlier,
    )


def merchant_by_slug(slug):
    return Merchant.objects.get(slug=slug)
