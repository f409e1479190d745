"""Reading orders: cleaning a row's values, reading an uploaded CSV, grouping its rows into
orders, and reading an order of the JSON API. The result is OrderInput values with any field
errors and the row they were found on."""

import csv
import io
import json
import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ..addresses import country_code
from ..models import Order, OrderLine
from ..services import DRAFT_FLAG
from ..text import unstorable
from .format import (
    COLUMNS,
    FALSE,
    ORDER_COLUMNS,
    PAYMENTS,
    REQUIRED_COLUMNS,
    TEXT_FIELDS,
    TRUE,
    ImportFileError,
    OrderInput,
)

MAX_BYTES = getattr(settings, "IMPORT_MAX_BYTES", 10 * 1024 * 1024)
MAX_ROWS = getattr(settings, "IMPORT_MAX_ROWS", 20_000)
MAX_QUANTITY = 10_000
TOTAL_LIMIT = Decimal("10000000000")


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
    draft = _flag(raw.get(DRAFT_FLAG), prefix + DRAFT_FLAG, errors, row)
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
