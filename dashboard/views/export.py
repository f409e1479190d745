"""The CSV export of the order list's filter, streamed in chunks."""

import csv
import datetime
import io
import json
import re
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import BooleanField, CharField, ExpressionWrapper, OuterRef, Subquery
from django.db.models.functions import Cast
from django.db.models.sql.constants import MULTI
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from orders import hold_detail
from orders import statuses as st
from orders.carriers import tracking_page
from orders.models import OrderNote
from orders.models.queryset import late_q, stuck_q
from orders.statuses import Status
from orders.text import FORMULA_START, safe_cell

from .. import access
from ..replica import reads_replica
from .common import _filterset

EXPORT_CHUNK = 2000

EXPORT_COLUMNS = [
    "order_number",
    "created_at",
    "status",
    "sub_status",
    "hold_reason",
    "payment_status",
    "flow",
    "fulfillment_center",
    "customer_name",
    "customer_email",
    "ship_to_country",
    "ship_by",
    "stuck",
    "late",
    "carrier",
    "tracking_number",
    "tracking_url",
    "hold_detail",
    "latest_note",
]


_FORMULA_FIRST = re.compile("[" + re.escape("".join(FORMULA_START)) + "]")


# What the export reads: plain values in one query (no model instances, no per-row queries).
# Times are read as the database's text and rewritten as ISO 8601: converting a million
# timestamps to datetimes and back costs more than the rest of the export together. The
# stuck and late flags are the database's answer to the same rules the lists filter by.
_EXPORT_TIMES = {
    "created_text": "created_at",
    "ship_by_text": "ship_by",
}
_EXPORT_VALUES = [
    "number",
    "created_text",
    "status",
    "hold_reason",
    "payment_status",
    "flow",
    "center__code",
    "customer_name",
    "customer_email",
    "country",
    "ship_by_text",
    "is_stuck",
    "is_late",
    "carrier",
    "tracking_number",
    "hold_detail",
    "latest_note",
]


def _export_rows(queryset, now):
    """The CSV in pieces of EXPORT_CHUNK rows. Rows come straight from the database cursor
    (server-side on PostgreSQL, fetched lazily on SQLite) as plain tuples, so memory stays
    flat however many orders match and no model or converter runs per row; labels come from
    the status catalog. Text a person or a store typed goes through safe_cell."""
    group_label = {s.value: st.GROUP_BY_VALUE[s.group].label for s in st.STATES}
    state_label = {s.value: s.label for s in st.STATES}
    hold_label = {h.value: h.label for h in st.HOLD_REASONS}
    flow_label = dict(st.FLOW_CHOICES)
    payment_label = st.PAYMENT_LABELS
    pages = {}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    texts = {name: Cast(field, CharField()) for name, field in _EXPORT_TIMES.items()}
    texts["is_stuck"] = ExpressionWrapper(stuck_q(now), output_field=BooleanField())
    texts["is_late"] = ExpressionWrapper(late_q(now), output_field=BooleanField())
    texts["latest_note"] = Subquery(
        OrderNote.objects.filter(order=OuterRef("pk")).order_by("-id").values("text")[:1]
    )
    query = queryset.annotate(**texts).values_list(*_EXPORT_VALUES).query
    chunks = query.get_compiler(using=queryset.db).execute_sql(
        MULTI, chunked_fetch=True, chunk_size=EXPORT_CHUNK
    )
    for chunk in chunks:
        for row in chunk:
            (number, created, status, hold, payment, flow, center, name, email, country) = row[:10]
            ship_by, stuck, late, carrier, tracking, detail, note = row[10:17]
            note = note or ""
            center = center or ""
            ship_by = _iso_utc(ship_by)
            url = ""
            parcel = tracking.strip()
            if parcel:
                page = pages.get(carrier)
                if page is None:
                    page = pages[carrier] = tracking_page(carrier)
                url = page.format(number=parcel if parcel.isalnum() else quote(parcel, safe=""))
            row = [
                number,
                _iso_utc(created),
                group_label.get(status, status),
                # The sub-status the dashboard shows (Order.sub_status_label): on hold, why.
                (status == Status.ACTION_REQUIRED and hold_label.get(hold))
                or state_label.get(status, status),
                hold_label.get(hold, ""),
                payment_label.get(payment, payment),
                flow_label.get(flow, flow),
                center,
                name,
                email,
                country,
                ship_by,
                "yes" if stuck else "",
                "yes" if late else "",
                carrier,
                tracking,
                url,
                _hold_text(hold, detail) if hold else "",
                note,
            ]
            # Most rows have no cell that starts like a formula: look at first letters once.
            firsts = number[:1] + center[:1] + name[:1] + email[:1] + country[:1]
            if _FORMULA_FIRST.search(firsts + carrier[:1] + tracking[:1] + url[:1] + note[:1]):
                row = [safe_cell(v) for v in row]
            writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _hold_text(reason, detail):
    """The hold's detail in words (the export reads the stored JSON as text)."""
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            detail = None
    return hold_detail.summary(reason, detail)


def _iso_utc(text):
    """A UTC time as the database writes it as text ("2026-06-02 09:13:19.41+00" on
    PostgreSQL, "2026-06-02 09:13:19.410000" on SQLite), written the way datetime.isoformat()
    writes the aware value: "2026-06-02T09:13:19.410000+00:00". "" for no time."""
    if not text:
        return ""
    if text.endswith("+00"):
        body = text[:-3]
    elif len(text) <= 26 and "+" not in text[10:] and "-" not in text[10:]:
        body = text
    else:  # another zone or format: let the datetime module do it
        parsed = datetime.datetime.fromisoformat(text)
        return parsed.astimezone(datetime.UTC).isoformat()
    head, dot, fraction = body.partition(".")
    if dot and fraction.strip("0"):
        head = f"{head}.{fraction.ljust(6, '0')}"
    return head.replace(" ", "T", 1) + "+00:00"


@login_required
@require_GET
@reads_replica
def export_csv(request):
    merchant = access.require_merchant(request)
    filterset = _filterset(request, merchant)
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, "Fix the filter before exporting.")
        return HttpResponseRedirect(f"{reverse('order_list')}?{request.GET.urlencode()}")
    now = timezone.now()
    response = StreamingHttpResponse(
        _export_rows(filterset.qs, now), content_type="text/csv; charset=utf-8"
    )
    filename = f"orders-{merchant.slug}-{now:%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
