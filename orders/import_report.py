"""What an import batch means for the merchant: a summary that leads with the orders that
need them, and the rows that failed as a CSV to fix and upload again."""

import csv
import io
from collections import Counter

from django.db.models import Count

from . import statuses as st
from .importing import COLUMNS, ImportFileError, _reader, _rows
from .models import ImportRow, Order
from .statuses import Hold, Status, StatusGroup

# The extra column of the errors CSV; the importer ignores it, so the fixed file can be
# uploaded as it is.
ERROR_COLUMN = "import_error"

# Hold reasons written the way the summary counts them ("6 invalid addresses").
_PLURAL = {
    Hold.INSUFFICIENT_INVENTORY: ("out of stock", "out of stock"),
    Hold.INVALID_ADDRESS: ("invalid address", "invalid addresses"),
    Hold.PRODUCT_CONFIGURATION: ("product setup problem", "product setup problems"),
    Hold.NOT_CONNECTED: ("product not connected", "products not connected"),
    Hold.PENDING_PERSONALIZATION: ("personalization pending", "personalizations pending"),
    Hold.PAYMENT_REFUSED: ("payment refused", "payments refused"),
    Hold.PENDING_APPROVAL: ("pending approval", "pending approval"),
    Hold.SPECIAL_REQUIREMENTS: ("special requirement", "special requirements"),
}
OURS = {Hold.PENDING_APPROVAL, Hold.SPECIAL_REQUIREMENTS}


def _words(reason, n):
    one, many = _PLURAL.get(reason, (reason.replace("_", " "),) * 2)
    return f"{n} {one if n == 1 else many}"


def summary(batch):
    """{created, processing, reviewing, need_you: [(reason, n, words)], with_us: [...],
    other, text} for the orders a batch created, as they are now (one query)."""
    rows = (
        Order.objects.filter(
            pk__in=ImportRow.objects.filter(
                batch=batch, outcome__in=("created", "reimported"), order__isnull=False
            ).values("order_id")
        )
        .values_list("status", "hold_reason")
        .annotate(n=Count("id"))
    )
    by_group = Counter()
    holds = Counter()
    for status, reason, n in rows:
        if status == Status.ACTION_REQUIRED:
            holds[reason] += n
        else:
            by_group[st.group_of(status).value] += n
    created = sum(by_group.values()) + sum(holds.values())
    need_you = [(r, n, _words(r, n)) for r, n in holds.most_common() if r not in OURS]
    with_us = [(r, n, _words(r, n)) for r, n in holds.most_common() if r in OURS]
    processing = by_group[StatusGroup.PROCESSING] + by_group[StatusGroup.SHIPPED]
    reviewing = by_group[StatusGroup.IMPORT_REVIEW]
    need = sum(n for _r, n, _w in need_you)
    parts = [f"{processing} processing"]
    if reviewing:
        parts.append(f"{reviewing} being checked")
    if need:
        parts.append(f"{need} need you")
    if with_us:
        parts.append(f"{sum(n for _r, n, _w in with_us)} with our team")
    text = f"{created} created: " + ", ".join(parts)
    if need_you:
        text += " — " + ", ".join(w for _r, _n, w in need_you)
    return {
        "created": created,
        StatusGroup.PROCESSING: processing,
        "reviewing": reviewing,
        "drafts": by_group[StatusGroup.DRAFT],
        "need": need,
        "need_you": need_you,
        "with_us": with_us,
        "text": text,
    }


def errors_csv(batch):
    """The file's rows of every order that had an error, in the template's columns plus
    `import_error` saying what to fix: fix them and upload the file again. Empty string
    when the batch kept no file text (an API batch)."""
    problems = list(
        batch.rows.filter(outcome="error").values_list("row", "number", "field", "message")
    )
    if not problems or not batch.content:
        return ""
    by_row = {}
    by_number = {}
    for row, number, field, message in problems:
        said = f"{field}: {message}" if field else message
        by_row.setdefault(row, []).append(said)
        if number:
            by_number.setdefault(number, []).append(said)
    try:
        reader, names = _reader(batch.content)
        rows = list(_rows(reader))
    except ImportFileError:
        return ""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*COLUMNS, ERROR_COLUMN])
    for number_of_row, values in rows:
        record = dict(zip(names, values, strict=False))
        number = (record.get("order_number") or "").strip()
        said = by_row.get(number_of_row) or by_number.get(number)
        if not said:
            continue
        writer.writerow([record.get(c, "") for c in COLUMNS] + ["; ".join(dict.fromkeys(said))])
    return out.getvalue()
