"""Shopify's "Export orders" CSV uploaded as it comes out of the store: detected from its
headers, read with its conventions (first-row order fields, #1001 names, apostrophe zips,
financial statuses, cancelled and fulfilled orders skipped, gift cards and tips left out),
through the dashboard, the API and the command. The files are in tests/files/."""

import csv
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from orders.formats import identify, read, shopify
from orders.importing import create_batch, run_batch
from orders.models import ImportBatch, ImportRow, InventoryLevel, Order, Product
from orders.tokens import token_create

from .dashboard_helpers import login

FILES = Path(__file__).parent / "files"
EXPORT = (FILES / "shopify_orders_export.csv").read_bytes()
# The same export after a round trip through Excel's "CSV UTF-8": a byte-order mark and CRLF.
EXCEL = b"\xef\xbb\xbf" + EXPORT.replace(b"\n", b"\r\n")

IMPORTED = ["1001", "1002", "1003", "1004", "1006"]
NOT_IMPORTED = {
    "1005": "refunded in the store: not imported",
    "1007": "payment voided in the store: not imported",
    "1008": "cancelled in the store (2026-11-30 17:05:44 -0500): not imported",
    "1009": "already fulfilled by the store: not imported",
}


@pytest.fixture
def shop_products(merchant, products, centers):
    for sku in ("TEE-BLK-M", "MUG-11"):
        product = Product.objects.create(merchant=merchant, sku=sku, name=sku)
        InventoryLevel.objects.create(center=centers[0], product=product, on_hand=50)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Batches are handed to the task backend after commit: run them in the test."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def _upload(client, content, name="orders_export_1.csv"):
    return client.post(
        "/imports/", {"file": SimpleUploadedFile(name, content, content_type="text/csv")}
    )


def _assert_the_export_was_read(merchant):
    orders = {o.number: o for o in Order.objects.filter(merchant=merchant)}
    assert sorted(orders) == IMPORTED  # "#1001" is order 1001; the rest were left out
    first = orders["1001"]
    assert sorted((line.sku, line.quantity) for line in first.lines.all()) == [
        ("MUG-11", 1),
        ("TEE-BLK-M", 2),
    ]
    # The order's fields come from its first row; the later row only adds a line.
    assert (first.customer_email, first.ship_name, first.address1, first.city) == (
        "ava@example.com",
        "Ava Smith",
        "1 Market Street",
        "New York",
    )
    assert (first.region, first.country, first.ship_option, first.total) == (
        "NY",
        "US",
        "Standard",
        Decimal("60.00"),
    )
    # Apostrophes that kept the leading zeros (and the phone's +) are gone, the zeros kept.
    assert first.postal_code == "10001"
    assert first.customer_phone == "+12125550100"
    assert orders["1002"].postal_code == "07102"
    assert orders["1002"].address2 == "Apt 3"
    assert orders["1003"].postal_code == "02108"
    # Financial Status -> payment status.
    payments = {n: (o.payment_status, o.refunded_amount) for n, o in orders.items()}
    assert payments == {
        "1001": ("paid", Decimal("0")),
        "1002": ("pending", Decimal("0")),
        "1003": ("pending", Decimal("0")),  # authorized
        "1004": ("pending", Decimal("0")),  # partially_paid
        "1006": ("partially_refunded", Decimal("12.00")),
    }
    # Gift cards and tips are not shipped.
    assert [line.sku for line in orders["1003"].lines.all()] == ["TEE-BLK-M"]
    assert [line.sku for line in orders["1006"].lines.all()] == ["TEE-BLK-M"]


def _assert_the_report(batch):
    batch = ImportBatch.objects.get(pk=batch.pk)
    assert batch.kind == "shopify"
    assert batch.read_as == "read as a Shopify orders export"
    assert batch.state == "done"
    assert (batch.created, batch.skipped, batch.errors) == (5, 4, 0)
    skipped = dict(
        ImportRow.objects.filter(batch=batch, outcome="skipped").values_list("number", "message")
    )
    assert skipped == NOT_IMPORTED
    notes = list(
        ImportRow.objects.filter(batch=batch, outcome="note").values_list("number", "message")
    )
    assert notes == [
        ("1003", "'Gift Card' needs no shipping (a gift card or tip): left out."),
        ("1006", "'Tip' needs no shipping (a gift card or tip): left out."),
    ]


def test_shopify_export_uploaded_as_is_is_read_as_a_shopify_export(
    client, manager, merchant, shop_products, run_on_commit
):
    login(client, manager)
    response = run_on_commit(_upload, client, EXPORT)
    assert response.status_code == 302
    batch = ImportBatch.objects.get(merchant=merchant)
    assert response["Location"] == f"/imports/{batch.pk}/"
    _assert_the_export_was_read(merchant)
    _assert_the_report(batch)
    page = client.get(f"/imports/{batch.pk}/").content.decode()
    assert "read as a Shopify orders export" in page
    assert "cancelled in the store" in page
    assert "needs no shipping" in page
    # Known SKUs and a mapped ship option: review accepted the paid order.
    assert Order.objects.get(merchant=merchant, number="1001").status == "processing"


def test_excel_saved_export_with_bom_and_crlf_reads_the_same(
    client, manager, merchant, shop_products, run_on_commit
):
    login(client, manager)
    assert run_on_commit(_upload, client, EXCEL, "orders_export_excel.csv").status_code == 302
    _assert_the_export_was_read(merchant)
    _assert_the_report(ImportBatch.objects.get(merchant=merchant))


def test_uploading_the_same_export_twice_changes_nothing(
    client, manager, merchant, shop_products, run_on_commit
):
    login(client, manager)
    run_on_commit(_upload, client, EXPORT)
    before = sorted(Order.objects.values_list("number", "status", "payment_status"))
    run_on_commit(_upload, client, EXCEL)
    assert sorted(Order.objects.values_list("number", "status", "payment_status")) == before
    second = ImportBatch.objects.filter(merchant=merchant).first()
    assert (second.created, second.skipped) == (0, 9)
    messages = set(second.rows.filter(outcome="skipped").values_list("message", flat=True))
    assert "already imported" in messages


def test_shopify_export_through_the_command(merchant, shop_products, tmp_path):
    path = tmp_path / "orders_export_1.csv"
    path.write_bytes(EXCEL)
    out = StringIO()
    call_command("import_orders", "--merchant", merchant.slug, str(path), stdout=out)
    assert "read as a Shopify orders export" in out.getvalue()
    assert "5 created" in out.getvalue()
    assert "gift card or tip" in out.getvalue()
    _assert_the_export_was_read(merchant)


def test_shopify_export_through_the_api(client, merchant, shop_products, run_on_commit):
    _token, raw = token_create(merchant=merchant, name="Shop")
    response = run_on_commit(
        client.post,
        "/api/v1/orders?filename=orders_export_1.csv",
        data=EXCEL,
        content_type="text/csv",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["read_as"] == "read as a Shopify orders export"
    assert data["total_rows"] == 12
    # The test runs the batch after the response (in production it runs as it commits).
    report = client.get(data["url"], headers={"Authorization": f"Bearer {raw}"})
    assert report.status_code == 200
    data = report.json()
    assert (data["state"], data["created"], data["skipped"]) == ("done", 5, 4)
    assert {r["number"]: r["message"] for r in data["report"] if r["outcome"] == "skipped"} == (
        NOT_IMPORTED
    )
    _assert_the_export_was_read(merchant)


@pytest.mark.parametrize(
    ("financial_status", "payment"),
    [
        ("paid", "paid"),
        ("pending", "pending"),
        ("authorized", "pending"),
        ("partially_paid", "pending"),
        ("partially_refunded", "partially_refunded"),
        ("refunded", None),
        ("voided", None),
    ],
)
def test_every_financial_status_maps_to_our_payment_status(
    merchant, shop_products, financial_status, payment
):
    header = EXPORT.decode().splitlines()[0]
    columns = header.split(",")
    row = dict.fromkeys(columns, "")
    row.update(
        {
            "Name": "#2001",
            "Email": "x@example.com",
            "Financial Status": financial_status,
            "Lineitem quantity": "1",
            "Lineitem name": "Mug",
            "Lineitem sku": "MUG-11",
            "Lineitem requires shipping": "true",
            "Shipping Address1": "1 Market Street",
            "Refunded Amount": "3.50",
        }
    )
    text = header + "\n" + ",".join(row[c] for c in columns) + "\n"
    assert identify(merchant, text) == ("shopify", None)
    batch = create_batch(merchant=merchant, content=text, kind="shopify")
    run_batch(batch.pk)
    order = Order.objects.filter(merchant=merchant, number="2001").first()
    if payment is None:
        assert order is None
        assert batch.rows.get().outcome == "skipped"
    else:
        assert order.payment_status == payment
        expected = Decimal("3.50") if payment == "partially_refunded" else Decimal("0")
        assert order.refunded_amount == expected


def test_an_order_with_only_gift_cards_is_skipped_as_nothing_to_ship(merchant):
    header = EXPORT.decode().splitlines()[0]
    columns = header.split(",")
    row = dict.fromkeys(columns, "")
    row.update(
        {
            "Name": "#3001",
            "Financial Status": "paid",
            "Lineitem quantity": "1",
            "Lineitem name": "Gift Card",
            "Lineitem requires shipping": "false",
        }
    )
    reading = read(header + "\n" + ",".join(row[c] for c in columns) + "\n", "shopify")
    assert reading.inputs == []
    # The line says why it was left out, the order why it was skipped.
    assert [(o.outcome, o.number) for o in reading.notes] == [
        ("note", "3001"),
        ("skipped", "3001"),
    ]
    assert "nothing to ship" in reading.notes[1].message


def test_shopify_is_recognised_whatever_the_header_case_and_spaces():
    header = EXPORT.decode().splitlines()[0].split(",")
    assert shopify.matches(header)
    assert shopify.matches([f" {h.upper()} " for h in header])
    assert not shopify.matches([h for h in header if h != "Lineitem sku"])


def test_a_tab_separated_copy_of_the_export_is_still_shopify(merchant, shop_products):
    out = StringIO()
    csv.writer(out, delimiter="\t").writerows(csv.reader(StringIO(EXPORT.decode(), newline="")))
    kind, _mapping = identify(merchant, out.getvalue())
    assert kind == "shopify"
    reading = read(out.getvalue(), kind)
    assert sorted(i.number for i in reading.inputs) == IMPORTED
