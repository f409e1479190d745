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

The package: format.py (columns, values, OrderInput and Outcome), parsing.py (CSV and API
sources), importer.py (the reimport rules), batches.py (stored uploads run by the worker).
Every name is importable from `orders.importing`.
"""

from .batches import create_batch, merchant_by_slug, run_batch
from .format import (
    COLUMN_HELP,
    COLUMNS,
    FALSE,
    LINE_COLUMNS,
    ORDER_COLUMNS,
    PAYMENTS,
    REQUIRED_COLUMNS,
    TEMPLATE_EXAMPLE,
    TEXT_FIELDS,
    TRUE,
    ImportFileError,
    OrderInput,
    Outcome,
)
from .importer import CHUNK, PAYMENT_REASON, import_orders
from .parsing import (
    MAX_BYTES,
    MAX_QUANTITY,
    MAX_ROWS,
    SEPARATORS,
    TOTAL_LIMIT,
    _reader,
    _rows,
    _separator,
    clean_line,
    clean_order_fields,
    count_rows,
    decode_upload,
    group_rows,
    parse_api_order,
    parse_csv,
)

__all__ = [
    "CHUNK",
    "COLUMNS",
    "COLUMN_HELP",
    "FALSE",
    "LINE_COLUMNS",
    "MAX_BYTES",
    "MAX_QUANTITY",
    "MAX_ROWS",
    "ORDER_COLUMNS",
    "PAYMENTS",
    "PAYMENT_REASON",
    "REQUIRED_COLUMNS",
    "SEPARATORS",
    "TEMPLATE_EXAMPLE",
    "TEXT_FIELDS",
    "TOTAL_LIMIT",
    "TRUE",
    "ImportFileError",
    "OrderInput",
    "Outcome",
    "_reader",
    "_rows",
    "_separator",
    "clean_line",
    "clean_order_fields",
    "count_rows",
    "create_batch",
    "decode_upload",
    "group_rows",
    "import_orders",
    "merchant_by_slug",
    "parse_api_order",
    "parse_csv",
    "run_batch",
]
