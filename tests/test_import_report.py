"""The import report leads with what needs the merchant, links to the list filtered to the
batch and reason, and its errors download as a CSV that uploads again once fixed."""

import csv
import io

from orders.import_report import ERROR_COLUMN, errors_csv, summary
from orders.models import ImportBatch, Order
from tests.conftest import PASSWORD
from tests.test_import import csv_text, run


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def mixed_batch(merchant):
    return run(
        merchant,
        csv_text(
            {"order_number": "R-1"},
            {"order_number": "R-2"},
            {"order_number": "R-3", "postal_code": "1"},
            {"order_number": "R-4", "postal_code": "2"},
            {"order_number": "R-5", "sku": "NOPE-1"},
            {"order_number": "R-6", "quantity": "many"},
        ),
    )


def test_summary_leads_with_what_needs_the_merchant(merchant, products, centers):
    batch = mixed_batch(merchant)
    found = summary(batch)
    assert found["created"] == 5 and found["processing"] == 2 and found["need"] == 3
    assert found["text"] == (
        "5 created: 2 processing, 3 need you — 2 invalid addresses, 1 product setup problem"
    )


def test_report_links_to_the_list_filtered_to_batch_and_reason(
    client, manager, merchant, products, centers
):
    batch = mixed_batch(merchant)
    login(client, manager)
    page = client.get(f"/imports/{batch.pk}/").content.decode()
    assert "5 created: 2 processing, 3 need you" in page
    link = f"/orders/?batch={batch.pk}&amp;hold_reason=invalid_address"
    assert link in page
    listing = client.get(
        "/orders/", {"batch": batch.pk, "hold_reason": "invalid_address"}
    ).content.decode()
    assert "R-3" in listing and "R-4" in listing
    assert "R-1" not in listing and "R-5" not in listing
    assert "Import" in listing and f"#{batch.pk}" in listing  # the active filter is named
    # Each row links to its order.
    assert 'href="/orders/R-1/"' in page


def test_another_merchants_batch_filters_to_nothing(client, outsider, merchant, products, centers):
    batch = mixed_batch(merchant)
    login(client, outsider)
    listing = client.get("/orders/", {"batch": batch.pk}).content.decode()
    assert "R-1" not in listing
    assert client.get(f"/imports/{batch.pk}/errors.csv").status_code == 404


def test_errors_csv_can_be_fixed_and_uploaded_again(client, manager, merchant, products, centers):
    batch = mixed_batch(merchant)
    text = errors_csv(batch)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["order_number"] for r in rows] == ["R-6"]
    assert "quantity" in rows[0][ERROR_COLUMN] and "many" in rows[0][ERROR_COLUMN]
    login(client, manager)
    response = client.get(f"/imports/{batch.pk}/errors.csv")
    assert response["Content-Disposition"] == f'attachment; filename="import-{batch.pk}-errors.csv"'
    assert response.content.decode() == text
    # Fix the quantity and upload the file as it is, error column included.
    rows[0]["quantity"] = "2"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    again = run(merchant, out.getvalue())
    assert again.errors == 0 and again.created == 1
    assert Order.objects.get(number="R-6").lines.get().quantity == 2


def test_no_errors_means_no_csv(client, manager, merchant, products, centers):
    batch = run(merchant, csv_text({"order_number": "OK-1"}))
    assert errors_csv(batch) == ""
    login(client, manager)
    response = client.get(f"/imports/{batch.pk}/errors.csv")
    assert response.status_code == 302


def test_upload_page_has_a_drop_zone_and_lists_past_batches(
    client, manager, viewer, merchant, products, centers
):
    batch = mixed_batch(merchant)
    login(client, manager)
    page = client.get("/imports/").content.decode()
    assert "data-dropzone" in page and 'type="file"' in page
    assert f'href="/imports/{batch.pk}/"' in page
    client.logout()
    login(client, viewer)
    page = client.get("/imports/").content.decode()
    assert "data-dropzone" not in page and f'href="/imports/{batch.pk}/"' in page
    assert ImportBatch.objects.count() == 1
