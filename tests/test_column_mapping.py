"""Any other CSV through a column mapping: the upload stops at a mapping step (menus guessed
from the file's column names, a preview of the first rows), the confirmed mapping is kept for
files with the same headers, and the API and the command take a saved mapping by name. A
merchant never sees or uses another merchant's mappings. Files in tests/files/."""

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from orders.formats import mapped, signature
from orders.importing import COLUMNS
from orders.models import ColumnMapping, ImportBatch, Order
from orders.tokens import token_create

from .dashboard_helpers import login

FILES = Path(__file__).parent / "files"
WEEK1 = (FILES / "store_orders_week1.csv").read_bytes()
WEEK2 = (FILES / "store_orders_week2.csv").read_bytes()
HEADERS = WEEK1.decode().splitlines()[0].split(",")

# What the merchant confirms: the guesses, plus the two columns no guess could find.
MAPPING = {
    **mapped.guess(HEADERS),
    "sku": "Product Code (Variation)",
    "quantity": "Units Sold",
}


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def _upload(client, content, name="store-orders-week1.csv"):
    return client.post(
        "/imports/", {"file": SimpleUploadedFile(name, content, content_type="text/csv")}
    )


def _confirm(client, batch, columns=MAPPING, name="My store", button="confirm"):
    data = {f"col_{field}": columns.get(field, "") for field in COLUMNS}
    data.update({"name": name, button: "1"})
    return client.post(f"/imports/{batch.pk}/mapping/", data)


def test_guesses_come_from_close_column_names():
    guessed = mapped.guess(HEADERS)
    assert guessed["order_number"] == "Order Number"
    # "Full Name (Shipping)" is the recipient's, not the buyer's.
    assert guessed["ship_name"] == "Full Name (Shipping)" and "customer_name" not in guessed
    assert guessed["postal_code"] == "Postcode (Shipping)"
    assert guessed["country"] == "Country Code (Shipping)"
    assert guessed["city"] == "City (Shipping)"
    assert guessed["total"] == "Order Total Amount"
    assert guessed["unit_price"] == "Item Cost"
    # Nothing in the file is named like a SKU or a quantity: the merchant chooses those.
    assert "sku" not in guessed and "quantity" not in guessed
    # Close spellings too, each column to one field at most.
    other = mapped.guess(["Order_No", "qty", "Sku ", "E-mail", "Zip"])
    assert other == {
        "order_number": "Order_No",
        "customer_email": "E-mail",
        "postal_code": "Zip",
        "sku": "Sku ",
        "quantity": "qty",
    }


def test_unknown_csv_stops_at_the_mapping_step_with_guesses_and_a_preview(
    client, manager, merchant
):
    login(client, manager)
    response = _upload(client, WEEK1)
    batch = ImportBatch.objects.get(merchant=merchant)
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{batch.pk}/mapping/"
    assert batch.state == "mapping"
    assert not Order.objects.exists()
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert '<option value="Order Number" selected>' in html
    assert '<option value="Postcode (Shipping)" selected>' in html
    # The preview shows the first rows through the guesses, with what is still missing.
    assert "WC-5001" in html and "Grace Hopper" in html
    assert "The SKU is required." in html
    # Choosing the two missing columns updates the preview; nothing is imported yet.
    preview = _confirm(client, batch, button="preview")
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "TEE-1" in html and "POSTER-1" in html
    assert "The SKU is required." not in html
    assert ImportBatch.objects.get(pk=batch.pk).state == "mapping"
    assert not Order.objects.exists() and not ColumnMapping.objects.exists()


def test_confirmed_mapping_imports_and_the_next_file_with_the_same_headers_does_not_ask(
    client, manager, merchant, products, run_on_commit
):
    login(client, manager)
    _upload(client, WEEK1)
    batch = ImportBatch.objects.get(merchant=merchant)
    response = run_on_commit(_confirm, client, batch)
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{batch.pk}/"
    batch = ImportBatch.objects.get(pk=batch.pk)
    assert (batch.state, batch.kind, batch.created, batch.errors) == ("done", "mapped", 3, 0)
    assert batch.read_as == "read through the column mapping “My store”"
    saved = ColumnMapping.objects.get(merchant=merchant)
    assert saved.name == "My store" and saved.columns["sku"] == "Product Code (Variation)"
    first = Order.objects.get(merchant=merchant, number="WC-5001")
    assert sorted((line.sku, line.quantity) for line in first.lines.all()) == [
        ("POSTER-1", 1),
        ("TEE-1", 2),
    ]
    assert (first.ship_name, first.postal_code, first.region) == ("Grace Hopper", "10001", "NY")
    assert Order.objects.get(merchant=merchant, number="WC-5002").postal_code == "07102"

    # Week two: same columns, new orders. Straight to the import, through the saved mapping.
    response = run_on_commit(_upload, client, WEEK2, "store-orders-week2.csv")
    second = ImportBatch.objects.filter(merchant=merchant).first()
    assert second.pk != batch.pk
    assert response["Location"] == f"/imports/{second.pk}/"
    assert (second.state, second.kind, second.mapping_id, second.created) == (
        "done",
        "mapped",
        saved.pk,
        2,
    )
    assert ColumnMapping.objects.count() == 1
    assert Order.objects.filter(merchant=merchant).count() == 5
    page = client.get(f"/imports/{second.pk}/").content.decode()
    assert "read through the column mapping “My store”" in page


def test_a_mapping_missing_a_required_field_is_refused_and_nothing_is_imported(
    client, manager, merchant
):
    login(client, manager)
    _upload(client, WEEK1)
    batch = ImportBatch.objects.get(merchant=merchant)
    without_sku = {k: v for k, v in MAPPING.items() if k != "sku"}
    response = _confirm(client, batch, without_sku)
    assert response.status_code == 400
    assert "Choose a column for sku (required)." in response.content.decode()
    # A column that is not in the file (a forged form) is refused too.
    response = _confirm(client, batch, {**MAPPING, "sku": "No such column"})
    assert response.status_code == 400
    assert "Select a valid choice. No such column is not one of" in response.content.decode()
    assert ImportBatch.objects.get(pk=batch.pk).state == "mapping"
    assert not Order.objects.exists() and not ColumnMapping.objects.exists()


def test_confirming_twice_imports_once(client, manager, merchant, products, run_on_commit):
    login(client, manager)
    _upload(client, WEEK1)
    batch = ImportBatch.objects.get(merchant=merchant)
    run_on_commit(_confirm, client, batch)
    again = run_on_commit(_confirm, client, batch)
    assert again.status_code == 302
    assert Order.objects.filter(merchant=merchant).count() == 3
    assert ImportBatch.objects.get(pk=batch.pk).created == 3


def test_api_and_command_take_a_saved_mapping_by_name(
    merchant, products, tmp_path, client, run_on_commit
):
    ColumnMapping.objects.create(
        merchant=merchant, name="Woo", headers=HEADERS, signature="other", columns=MAPPING
    )
    _token, raw = token_create(merchant=merchant, name="Shop")
    auth = {"Authorization": f"Bearer {raw}"}
    response = run_on_commit(
        client.post, "/api/v1/orders?mapping=Woo", data=WEEK1, content_type="text/csv", headers=auth
    )
    assert response.status_code == 202, response.content
    assert response.json()["read_as"] == "read through the column mapping “Woo”"
    report = client.get(response.json()["url"], headers=auth).json()
    assert (report["state"], report["created"]) == ("done", 3)
    missing = client.post(
        "/api/v1/orders?mapping=Nope", data=WEEK2, content_type="text/csv", headers=auth
    )
    assert missing.status_code == 400
    assert missing.json()["error"] == "No saved column mapping is named 'Nope'."
    nul = client.post(
        "/api/v1/orders?mapping=Woo%00", data=WEEK2, content_type="text/csv", headers=auth
    )
    assert nul.status_code == 400
    # Without a name or a mapping for these headers, the API says what to do.
    unmapped = client.post("/api/v1/orders", data=WEEK2, content_type="text/csv", headers=auth)
    assert unmapped.status_code == 400
    assert "no saved column mapping fits them" in unmapped.json()["error"]

    path = tmp_path / "week2.csv"
    path.write_bytes(WEEK2)
    out = StringIO()
    call_command(
        "import_orders", "--merchant", merchant.slug, "--mapping", "Woo", str(path), stdout=out
    )
    assert "read through the column mapping “Woo”" in out.getvalue()
    assert "2 created" in out.getvalue()
    assert Order.objects.filter(merchant=merchant).count() == 5
    with pytest.raises(CommandError, match="no saved column mapping fits"):
        call_command("import_orders", "--merchant", merchant.slug, str(path), stdout=StringIO())


def test_another_merchants_mapping_is_never_seen_nor_used(
    client, manager, outsider, merchant, other_merchant, products
):
    ColumnMapping.objects.create(
        merchant=merchant,
        name="Acme secret mapping",
        headers=HEADERS,
        signature=signature(HEADERS),
        columns=MAPPING,
    )
    login(client, outsider)
    # B's upload of a file with the same headers is not read through A's mapping.
    response = _upload(client, WEEK1)
    theirs = ImportBatch.objects.get(merchant=other_merchant)
    assert response["Location"] == f"/imports/{theirs.pk}/mapping/"
    assert "Acme secret mapping" not in client.get("/imports/mappings/").content.decode()
    mine = ColumnMapping.objects.get(merchant=merchant)
    assert client.post(f"/imports/mappings/{mine.pk}/forget/").status_code == 404
    # Nor by name through B's token.
    _token, raw = token_create(merchant=other_merchant, name="B")
    named = client.post(
        "/api/v1/orders?mapping=Acme secret mapping",
        data=WEEK1,
        content_type="text/csv",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert named.status_code == 400
    assert ColumnMapping.objects.filter(merchant=merchant).count() == 1
    # And A's waiting upload is a 404 for B.
    client.logout()
    login(client, manager)
    _upload(client, WEEK2)
    waiting = ImportBatch.objects.get(merchant=merchant)
    client.logout()
    login(client, outsider)
    assert client.get(f"/imports/{waiting.pk}/mapping/").status_code == 404
    assert _confirm(client, waiting).status_code == 404


def test_a_viewer_sees_the_mapping_step_but_cannot_confirm(client, manager, viewer, merchant):
    login(client, manager)
    _upload(client, WEEK1)
    batch = ImportBatch.objects.get(merchant=merchant)
    client.logout()
    login(client, viewer)
    page = client.get(f"/imports/{batch.pk}/mapping/")
    assert page.status_code == 200
    assert b"only managers can map and import" in page.content
    assert b'name="confirm"' not in page.content
    assert _confirm(client, batch).status_code == 403
    assert _confirm(client, batch, button="preview").status_code == 403
    assert ImportBatch.objects.get(pk=batch.pk).state == "mapping"


def test_a_manager_forgets_a_mapping_and_the_next_file_asks_again(
    client, manager, merchant, products, run_on_commit
):
    login(client, manager)
    _upload(client, WEEK1)
    run_on_commit(_confirm, client, ImportBatch.objects.get(merchant=merchant))
    saved = ColumnMapping.objects.get(merchant=merchant)
    page = client.get("/imports/mappings/").content.decode()
    assert "My store" in page
    assert client.post(f"/imports/mappings/{saved.pk}/forget/").status_code == 302
    assert not ColumnMapping.objects.exists()
    response = _upload(client, WEEK2)
    assert response["Location"].endswith("/mapping/")


def test_a_semicolon_file_from_a_european_excel_is_mapped_the_same(
    client, manager, merchant, products, run_on_commit
):
    rows = list(csv.reader(WEEK1.decode().splitlines()))
    semicolons = "\r\n".join(";".join(row) for row in rows).encode()
    login(client, manager)
    response = _upload(client, semicolons, "export-fr.csv")
    batch = ImportBatch.objects.get(merchant=merchant)
    assert response["Location"] == f"/imports/{batch.pk}/mapping/"
    page = client.get(response["Location"]).content.decode()
    assert '<option value="Postcode (Shipping)" selected>' in page
    run_on_commit(_confirm, client, batch)
    assert ImportBatch.objects.get(pk=batch.pk).created == 3
    assert Order.objects.get(merchant=merchant, number="WC-5002").postal_code == "07102"
