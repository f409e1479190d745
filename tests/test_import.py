"""Importing orders by CSV (upload page and command): each outcome, the reimport rules, row
errors for every field rule, idempotent re-upload, file limits, and the batch page."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from orders import importing
from orders.importing import COLUMNS, create_batch, parsing, run_batch
from orders.models import ImportBatch, ImportRow, InventoryLevel, Order, StatusChange
from orders.services import order_cancel, order_clean_sweep
from tests.conftest import CSV_LINE, PASSWORD

BASE = CSV_LINE


def csv_text(*rows, columns=COLUMNS):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**BASE, **row})
    return out.getvalue()


def run(merchant, text, by=None):
    batch = create_batch(merchant=merchant, content=text, by=by, filename="orders.csv")
    run_batch(batch.pk)
    return ImportBatch.objects.get(pk=batch.pk)


def outcomes(batch):
    return list(batch.rows.values_list("row", "number", "outcome", "field"))


@pytest.fixture
def client_as(client):
    def login(user):
        client.login(username=user.username, password=PASSWORD)
        return client

    return login


# --- outcomes ------------------------------------------------------------------------------


def test_new_orders_are_created_grouped_by_number_and_reviewed(merchant, products, centers):
    batch = run(
        merchant,
        csv_text(
            {"order_number": "1001", "quantity": "2"},
            {"order_number": "1001", "sku": "TEE-1", "quantity": "1", "unit_price": "5"},
            {"order_number": "1002"},
        ),
    )
    assert (batch.state, batch.created, batch.errors) == ("done", 2, 0)
    assert outcomes(batch) == [(2, "1001", "created", ""), (4, "1002", "created", "")]
    order = Order.objects.get(number="1001")
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("TEE-1", 2), ("TEE-1", 1)]
    assert str(order.total) == "45.00"
    assert order.status == "processing"  # reviewed by the batch
    assert InventoryLevel.objects.get(product=products["stock"], center=centers[0]).reserved == 4
    first = StatusChange.objects.filter(order=order).first()
    assert (first.transition, first.target) == ("import", "import_review")
    assert (batch.orders_to_review, batch.orders_reviewed, batch.percent) == (2, 2, 100)


def test_draft_column_saves_a_draft_that_is_not_reviewed(merchant, products):
    batch = run(merchant, csv_text({"order_number": "D-1", "draft": "yes"}))
    order = Order.objects.get(number="D-1")
    assert order.status == "draft"
    assert batch.rows.get().message == "Saved as a draft."
    assert StatusChange.objects.get(order=order).transition == "create"


def test_payment_column_records_the_stores_payment(merchant, products):
    run(merchant, csv_text({"order_number": "P-1", "payment": "paid"}))
    order = Order.objects.get(number="P-1")
    assert order.payment_status == "paid"
    row = StatusChange.objects.get(order=order, field="payment_status")
    assert (row.transition, row.target) == ("import", "paid")


def test_refused_payment_is_held_by_review(merchant, products):
    run(merchant, csv_text({"order_number": "P-2", "payment": "refused"}))
    order = Order.objects.get(number="P-2")
    assert (order.status, order.hold_reason) == ("action_required", "payment_refused")


def test_reimport_after_clean_sweep_links_to_the_earlier_row(
    merchant, products, make_order, manager
):
    earlier = make_order(number="2001")
    order_clean_sweep(order=earlier, by=manager)
    batch = run(merchant, csv_text({"order_number": "2001"}))
    row = batch.rows.get()
    assert (row.outcome, row.earlier_id) == ("reimported", earlier.pk)
    fresh = Order.objects.exclude(pk=earlier.pk).get(number="2001")
    assert fresh.reimport_of_id == earlier.pk
    assert row.order_id == fresh.pk
    assert StatusChange.objects.filter(order=fresh).first().transition == "reimport"
    assert Order.objects.get(pk=earlier.pk).status == "clean_swept"
    assert batch.reimported == 1


def test_live_order_is_skipped_as_already_imported(merchant, products, make_order):
    live = make_order(number="3001", customer_name="Original")
    batch = run(merchant, csv_text({"order_number": "3001", "customer_name": "Changed"}))
    row = batch.rows.get()
    assert (row.outcome, row.message, row.earlier_id) == ("skipped", "already imported", live.pk)
    assert Order.objects.filter(number="3001").count() == 1
    assert Order.objects.get(pk=live.pk).customer_name == "Original"


def test_cancelled_order_is_not_reimported(merchant, products, make_order, manager):
    cancelled = make_order(number="4001")
    order_cancel(order=cancelled, by=manager)
    batch = run(merchant, csv_text({"order_number": "4001"}))
    row = batch.rows.get()
    assert (row.outcome, row.message) == ("refused", "cancelled: not reimported")
    assert Order.objects.filter(number="4001").count() == 1
    assert batch.refused == 1


def test_other_merchants_numbers_do_not_collide(merchant, other_merchant, products, make_order):
    make_order(number="5001", target_merchant=other_merchant)
    batch = run(merchant, csv_text({"order_number": "5001"}))
    assert batch.rows.get().outcome == "created"


# --- row errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column,value,message",
    [
        ("order_number", "", "required"),
        ("order_number", "N" * 65, "longer than 64"),
        ("sku", "", "SKU is required"),
        ("sku", "S" * 65, "longer than 64"),
        ("quantity", "", "quantity is required"),
        ("quantity", "0", "whole number from 1"),
        ("quantity", "2.5", "whole number from 1"),
        ("quantity", "lots", "whole number from 1"),
        ("quantity", "10001", "whole number from 1"),
        ("unit_price", "ten", "not a number"),
        ("unit_price", "-1", "zero or more"),
        ("unit_price", "1.234", "at most 2 decimals"),
        ("total", "abc", "not a number"),
        ("customer_email", "not-an-email", "not an email"),
        ("customer_name", "x" * 201, "At most 200"),
        ("city", "x" * 101, "At most 100"),
        ("country", "Germny", "two-letter ISO"),  # "USA" and "Germany" are matched
        ("currency", "DOLLARS", "3-letter currency"),
        ("draft", "maybe", "not yes or no"),
        ("needs_approval", "perhaps", "not yes or no"),
        ("personalization_complete", "dunno", "not yes or no"),
        ("payment", "iou", "not one of paid"),
        ("item_name", "x" * 201, "At most 200"),
    ],
)
def test_each_field_rule_reports_row_field_and_message(merchant, products, column, value, message):
    batch = run(
        merchant, csv_text({"order_number": "GOOD-1"}, {"order_number": "E-1", column: value})
    )
    error = batch.rows.get(outcome="error")
    assert (error.row, error.field) == (3, column)
    assert message in error.message
    # the good row still imports; nothing of the bad one does
    assert batch.rows.get(outcome="created").number == "GOOD-1"
    assert Order.objects.filter(number="GOOD-1").exists()
    assert not Order.objects.filter(number__in=["E-1", "", "N" * 64]).exists()
    assert batch.errors == 1


def test_order_fields_that_differ_between_its_rows_are_an_error(merchant, products):
    batch = run(
        merchant,
        csv_text({"order_number": "6001"}, {"order_number": "6001", "city": "Boston"}),
    )
    error = batch.rows.get()
    assert (error.outcome, error.row, error.field) == ("error", 3, "city")
    assert "differs from row 2" in error.message
    assert not Order.objects.filter(number="6001").exists()


def test_one_bad_line_keeps_the_whole_order_out(merchant, products):
    batch = run(
        merchant,
        csv_text({"order_number": "7001"}, {"order_number": "7001", "quantity": "-3"}),
    )
    assert [r.outcome for r in batch.rows.all()] == ["error"]
    assert not Order.objects.filter(number="7001").exists()


def test_unknown_sku_and_bad_address_import_and_are_held_by_review(merchant, products):
    run(
        merchant,
        csv_text(
            {"order_number": "8001", "sku": "NEW-SKU"}, {"order_number": "8002", "postal_code": "1"}
        ),
    )
    held = dict(Order.objects.values_list("number", "hold_reason"))
    assert held == {"8001": "product_configuration", "8002": "invalid_address"}


# --- idempotency and files -----------------------------------------------------------------


def test_importing_the_same_file_twice_changes_nothing(merchant, products, centers):
    text = csv_text({"order_number": "9001"}, {"order_number": "9002", "quantity": "x"})
    first = run(merchant, text)
    snapshot = list(Order.objects.values_list("id", "status", "status_changed_at"))
    history = StatusChange.objects.count()
    reserved = list(InventoryLevel.objects.values_list("reserved", flat=True))
    second = run(merchant, text)
    assert list(Order.objects.values_list("id", "status", "status_changed_at")) == snapshot
    assert StatusChange.objects.count() == history
    assert list(InventoryLevel.objects.values_list("reserved", flat=True)) == reserved
    assert (first.created, second.created, second.skipped, second.errors) == (1, 0, 1, 1)


def test_byte_order_mark_is_accepted(merchant, products):
    data = ("\ufeff" + csv_text({"order_number": "BOM-1"})).encode("utf-8")
    batch = run(merchant, importing.decode_upload(data))
    assert batch.rows.get().outcome == "created"


@pytest.mark.parametrize(
    "data,message",
    [
        ("order_number;sku\n1;2\n".encode("latin-1") + b"\xe9", "not UTF-8"),
        (b"", "empty"),
        (b"order_number,sku,quantity,colour\n1,A,1,red\n", "Unknown column(s): colour"),
        (b"order_number,quantity\n1,1\n", "Missing column(s): sku"),
        (b"order_number,sku,quantity\n", "no order rows"),
    ],
)
def test_unusable_files_are_refused_with_a_message(merchant, data, message):
    with pytest.raises(
        importing.ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        create_batch(merchant=merchant, content=importing.decode_upload(data))
    assert ImportBatch.objects.count() == 0


def test_row_limit(merchant, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_ROWS", 2)
    with pytest.raises(importing.ImportFileError, match="more than 2 rows"):
        create_batch(
            merchant=merchant,
            content=csv_text({"order_number": "1"}, {"order_number": "2"}, {"order_number": "3"}),
        )


def test_size_limit(monkeypatch):
    monkeypatch.setattr(parsing, "MAX_BYTES", 10)
    with pytest.raises(importing.ImportFileError, match="at most"):
        importing.decode_upload(b"x" * 11)


def test_finished_batch_is_not_run_again(merchant, products):
    batch = run(merchant, csv_text({"order_number": "R-1"}))
    assert run_batch(batch.pk) is None
    assert ImportRow.objects.filter(batch=batch).count() == 1


# --- the command ---------------------------------------------------------------------------


def test_command_imports_a_file(merchant, products, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(csv_text({"order_number": "C-1"}, {"order_number": "C-2", "quantity": "0"}))
    out = io.StringIO()
    call_command("import_orders", "--merchant", "acme", str(path), stdout=out)
    assert "1 created" in out.getvalue() and "1 errors" in out.getvalue()
    assert "row 3, quantity" in out.getvalue()
    assert Order.objects.get(number="C-1").status == "processing"
    assert ImportBatch.objects.get().source == "command"


def test_command_refuses_unknown_merchant(db, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_number,sku,quantity\n1,A,1\n")
    with pytest.raises(CommandError, match="No merchant"):
        call_command("import_orders", "--merchant", "nobody", str(path))


# --- the pages -----------------------------------------------------------------------------


def upload_file(text, name="orders.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_manager_uploads_and_lands_on_the_batch_report(
    client_as, manager, merchant, products, django_capture_on_commit_callbacks
):
    client = client_as(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("imports"), {"file": upload_file(csv_text({"order_number": "U-1"}))}
        )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import_batch", args=[batch.pk])
    assert (batch.state, batch.created, batch.created_by) == ("done", 1, manager)
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"U-1" in page.content and b"Created" in page.content
    history = StatusChange.objects.filter(order__number="U-1").first()
    assert history.actor == manager


@override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}})
def test_big_upload_is_handed_to_the_task_backend_and_shows_progress(
    client_as, manager, merchant, products, django_capture_on_commit_callbacks
):
    from django_tasks import default_task_backend

    rows = [{"order_number": f"B-{n}"} for n in range(300)]
    client = client_as(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports"), {"file": upload_file(csv_text(*rows))})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert batch.state == "queued" and batch.total_rows == 300
    assert Order.objects.count() == 0  # nothing done inside the request
    assert [r.args for r in default_task_backend.results] == [[batch.pk]]
    progress = client.get(
        reverse("import_batch", args=[batch.pk]) + "?part=progress", HTTP_HX_REQUEST="true"
    )
    assert (
        b"0 of 300 rows imported" in progress.content
        and b'hx-trigger="every 2s"' in progress.content
    )
    run_batch(batch.pk)  # what the worker does
    done = client.get(
        reverse("import_batch", args=[batch.pk]) + "?part=progress", HTTP_HX_REQUEST="true"
    )
    assert b"300 created" in done.content and b"hx-trigger" not in done.content


def test_bad_file_shows_the_reason_and_creates_nothing(client_as, manager, merchant):
    response = client_as(manager).post(
        reverse("imports"), {"file": upload_file("order_number,sku,quantity\n")}
    )
    assert response.status_code == 400
    assert b"The file has a header but no order rows." in response.content
    assert ImportBatch.objects.count() == 0


def test_unknown_columns_lead_to_the_mapping_step_not_an_import(client_as, manager, merchant):
    """Columns that are not the template's are mapped first (tests/test_column_mapping.py)."""
    response = client_as(manager).post(
        reverse("imports"), {"file": upload_file("order_number,colour\n1,red\n")}
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import_mapping", args=[batch.pk])
    assert batch.state == "mapping" and not Order.objects.exists()


def test_viewer_cannot_upload(client_as, viewer, merchant):
    response = client_as(viewer).post(
        reverse("imports"), {"file": upload_file(csv_text({"order_number": "V-1"}))}
    )
    assert response.status_code == 403
    assert ImportBatch.objects.count() == 0


def test_viewer_can_read_the_upload_page_and_reports(client_as, viewer, merchant, products):
    batch = run(merchant, csv_text({"order_number": "V-2"}))
    client = client_as(viewer)
    assert b"only managers can import" in client.get(reverse("imports")).content
    assert client.get(reverse("import_batch", args=[batch.pk])).status_code == 200


def test_another_merchants_batch_is_a_404(client_as, outsider, merchant, products):
    batch = run(merchant, csv_text({"order_number": "X-1"}))
    assert client_as(outsider).get(reverse("import_batch", args=[batch.pk])).status_code == 404


@override_settings(LOGIN_URL="/admin/login/")
def test_pages_need_a_login(client, merchant):
    response = client.get(reverse("imports"))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_template_download_has_every_column(client_as, manager):
    response = client_as(manager).get(reverse("import_template"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == COLUMNS
    assert rows[1][0] == rows[2][0] == "1001"  # one row per line, order fields repeat


def test_report_can_be_filtered_by_outcome(client_as, manager, merchant, products):
    batch = run(
        merchant, csv_text({"order_number": "F-1"}, {"order_number": "F-2", "quantity": "0"})
    )
    response = client_as(manager).get(reverse("import_batch", args=[batch.pk]) + "?outcome=error")
    assert b"F-2" in response.content and b"F-1" not in response.content


@pytest.mark.django_db(transaction=True)
@override_settings(IMPORT_INLINE_MAX_ROWS=5)
def test_big_upload_on_the_immediate_backend_runs_after_the_request(
    client, manager, merchant, products, centers
):
    from orders import tasks

    client.login(username=manager.username, password=PASSWORD)
    rows = [{"order_number": f"T-{n}"} for n in range(20)]
    response = client.post(reverse("imports"), {"file": upload_file(csv_text(*rows))})
    assert response.status_code == 302
    # Nothing reads the database until the thread is done: the in-memory SQLite test
    # database is shared between threads with table locks, and a read while the thread
    # writes makes one of them fail with "database table is locked" (seen in CI).
    thread = tasks.background_threads.pop()
    thread.join(60)
    assert not thread.is_alive()
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("import_batch", args=[batch.pk])
    assert (batch.state, batch.created, batch.orders_reviewed) == ("done", 20, 20)
    assert Order.objects.filter(status="processing").count() == 20


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}})
def test_database_backend_queues_the_batch_for_the_worker(client, manager, merchant, products):
    client.login(username=manager.username, password=PASSWORD)
    response = client.post(
        reverse("imports"), {"file": upload_file(csv_text({"order_number": "W-1"}))}
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert batch.state == "queued" and not Order.objects.exists()
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO())
    batch = ImportBatch.objects.get()
    assert (batch.state, batch.created) == ("done", 1)
    # the batch reviewed its orders inside the worker
    assert Order.objects.get(number="W-1").status == "processing"
