import csv
import io

from dashboard.views import EXPORT_COLUMNS, safe_cell
from orders.services import order_clean_sweep

from .dashboard_helpers import login


def rows(response):
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_export_streams_every_matching_order_not_just_one_page(
    client, manager, make_order, other_merchant
):
    for i in range(55):
        make_order(number=f"E-{i:03d}")
    make_order(number="THEIRS", target_merchant=other_merchant)
    swept = make_order(number="SWEPT")
    order_clean_sweep(order=swept, by=manager)
    login(client, manager)
    response = client.get("/orders/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    data = rows(response)
    assert data[0] == EXPORT_COLUMNS
    numbers = sorted(r[0] for r in data[1:])
    assert numbers == [f"E-{i:03d}" for i in range(55)]


def test_export_follows_the_filter_and_writes_readable_values(client, manager, make_order, drive):
    make_order(number="LIVE")
    shipped = drive(make_order(number="SHIP", customer_name="Ava Smith"), "shipped")
    login(client, manager)
    data = rows(client.get("/orders/export.csv", {"group": "shipped"}))
    assert len(data) == 2
    row = dict(zip(data[0], data[1], strict=True))
    assert row["order_number"] == "SHIP"
    assert row["status"] == "Shipped"
    assert row["sub_status"] == "Awaiting carrier scan"
    assert row["fulfillment_center"] == "NJ1"
    assert row["tracking_number"] == shipped.tracking_number
    assert row["tracking_url"].startswith("https://www.ups.com/track?tracknum=")
    assert row["customer_name"] == "Ava Smith"


def test_formula_looking_cells_are_neutralised(client, manager, make_order):
    make_order(number="X-1", customer_name='=HYPERLINK("http://evil","click")')
    make_order(number="X-2", customer_name="+1 555 0100")
    make_order(number="X-3", customer_name="@SUM(A1)")
    make_order(number="X-4", customer_name="-2+3")
    login(client, manager)
    data = rows(client.get("/orders/export.csv", {"sort": "number"}))
    names = [dict(zip(data[0], r, strict=True))["customer_name"] for r in data[1:]]
    assert names == ['\'=HYPERLINK("http://evil","click")', "'+1 555 0100", "'@SUM(A1)", "'-2+3"]


def test_safe_cell():
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("\rx") == "'\rx"
    assert safe_cell("plain") == "plain"
    assert safe_cell(None) == ""
    assert safe_cell(12) == "12"


def test_export_with_a_bad_filter_says_so(client, manager, make_order):
    make_order()
    login(client, manager)
    response = client.get("/orders/export.csv", {"created_after": "soon"}, follow=True)
    assert b"Fix the filter before exporting" in response.content


def test_viewer_may_export(client, viewer, make_order):
    make_order(number="V-1")
    login(client, viewer)
    data = rows(client.get("/orders/export.csv"))
    assert [r[0] for r in data[1:]] == ["V-1"]


def _export_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        data = rows(client.get("/orders/export.csv"))
    return len(ctx.captured_queries), data


def test_export_reads_rows_without_a_query_per_order(client, manager, make_order, drive):
    drive(make_order(number="Q-0"), "shipped")
    login(client, manager)
    few, data = _export_queries(client)
    assert len(data) == 2
    for i in range(1, 8):
        drive(make_order(number=f"Q-{i}"), "picked")
    many, data = _export_queries(client)
    assert len(data) == 9
    assert many == few


def test_export_pieces_join_into_every_row_once(client, manager, make_order, monkeypatch):
    from dashboard.views import export

    monkeypatch.setattr(export, "EXPORT_CHUNK", 3)
    for i in range(10):
        make_order(number=f"C-{i:02d}")
    login(client, manager)
    response = client.get("/orders/export.csv", {"sort": "number"})
    pieces = list(response.streaming_content)
    assert len(pieces) == 4  # 3 + 3 + 3 + the last row (the header rides in the first)
    data = list(csv.reader(io.StringIO(b"".join(pieces).decode())))
    assert [r[0] for r in data[1:]] == [f"C-{i:02d}" for i in range(10)]


def test_times_and_flags_are_written_as_before(client, manager, make_order, drive):
    import datetime

    from django.utils import timezone

    from orders.models import Order

    now = timezone.now()
    stuck = make_order(number="STUCK")
    exact = datetime.datetime(2026, 3, 1, 9, 30, 0, tzinfo=datetime.UTC)
    Order.objects.filter(pk=stuck.pk).update(
        status_changed_at=now - datetime.timedelta(minutes=30), created_at=exact
    )
    late = drive(make_order(number="LATE"), "picked")
    tenths = datetime.datetime(2026, 3, 2, 10, 0, 0, 410000, tzinfo=datetime.UTC)
    Order.objects.filter(pk=late.pk).update(
        ship_by=now - datetime.timedelta(hours=1), created_at=tenths
    )
    fresh = make_order(number="FRESH")
    login(client, manager)
    data = rows(client.get("/orders/export.csv", {"sort": "number"}))
    got = {r[0]: dict(zip(data[0], r, strict=True)) for r in data[1:]}
    assert (got["STUCK"]["stuck"], got["STUCK"]["late"]) == ("yes", "")
    assert (got["LATE"]["stuck"], got["LATE"]["late"]) == ("", "yes")
    assert (got["FRESH"]["stuck"], got["FRESH"]["late"]) == ("", "")
    for number in ("STUCK", "LATE", "FRESH"):
        order = Order.objects.get(number=number)
        assert got[number]["created_at"] == order.created_at.isoformat()
        assert got[number]["ship_by"] == (order.ship_by.isoformat() if order.ship_by else "")
    assert got["STUCK"]["created_at"] == "2026-03-01T09:30:00+00:00"
    assert got["LATE"]["created_at"] == "2026-03-02T10:00:00.410000+00:00"
    assert fresh.pk


def test_formula_looking_numbers_emails_and_tracking_are_neutralised(client, manager, make_order):
    from orders.models import Order

    order = make_order(number="=1+2", customer_email="@evil.example.com")
    Order.objects.filter(pk=order.pk).update(tracking_number="-5", carrier="+Carrier")
    make_order(number="PLAIN")
    login(client, manager)
    data = rows(client.get("/orders/export.csv", {"sort": "number"}))
    got = {r[0]: dict(zip(data[0], r, strict=True)) for r in data[1:]}
    row = got["'=1+2"]
    assert (row["customer_email"], row["tracking_number"], row["carrier"]) == (
        "'@evil.example.com",
        "'-5",
        "'+Carrier",
    )
    assert row["tracking_url"] == "https://parcelsapp.com/en/tracking/-5"
    assert got["PLAIN"]["customer_email"] == "ava@example.com"
