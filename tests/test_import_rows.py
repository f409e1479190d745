"""Imports from the bytes a spreadsheet saves (issue 12): exact duplicate rows are refused
for their order, ';' and tab separated files are read, SKUs match ignoring case and
surrounding spaces, and reported row numbers are the rows a spreadsheet shows."""

import json

import pytest
from django.test import Client

from orders import importing
from orders.importing import create_batch, run_batch
from orders.matching import match_key, products_by_sku
from orders.models import ImportBatch, Order, Product
from orders.services import order_transition
from orders.tokens import token_create

HEADER = "order_number,ship_name,address1,city,region,postal_code,country,ship_option,sku,quantity,unit_price,item_name"  # noqa: E501
ADDRESS = "Ava Smith,1 Market Street,New York,NY,10001,US,Standard"


def run(merchant, data):
    """Import the file's bytes as the upload does."""
    text = importing.decode_upload(data)
    batch = create_batch(merchant=merchant, content=text, filename="orders.csv")
    run_batch(batch.pk)
    return ImportBatch.objects.get(pk=batch.pk)


def lines(*rows):
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode()


def test_an_exact_duplicate_row_refuses_its_order_and_the_others_import(merchant, products):
    data = lines(
        f"X-1,{ADDRESS},TEE-1,1,20.00,",  # row 2
        f"X-2,{ADDRESS},TEE-1,1,20.00,",  # row 3
        f"X-3,{ADDRESS},TEE-1,1,20.00,",  # row 4
        f"D-1,{ADDRESS},TEE-1,1,20.00,",  # row 5
        f"D-1,{ADDRESS},TEE-1,1,20.00,gift",  # row 6: a second line, not a repeat
        f"D-1,{ADDRESS},TEE-1,1,20.00,",  # row 7: repeats row 5
    )
    batch = run(merchant, data)
    error = batch.rows.get(number="D-1")
    assert (error.outcome, error.row) == ("error", 7)
    assert error.message == "row 7 repeats row 5 exactly; for two units write quantity 2"
    assert not Order.objects.filter(number="D-1").exists()
    assert set(Order.objects.values_list("number", flat=True)) == {"X-1", "X-2", "X-3"}
    assert (batch.created, batch.errors) == (3, 1)


def test_the_same_sku_twice_with_another_detail_is_two_lines(merchant, products):
    batch = run(
        merchant,
        lines(f"D-2,{ADDRESS},TEE-1,1,20.00,", f"D-2,{ADDRESS},TEE-1,2,20.00,"),
    )
    assert batch.created == 1
    assert Order.objects.get(number="D-2").lines.count() == 2


def test_api_refuses_an_order_with_a_line_repeated_exactly(merchant, products):
    _token, raw = token_create(merchant=merchant, name="Shop")
    line = {"sku": "TEE-1", "quantity": 1, "unit_price": "20.00"}
    body = {
        "number": "API-D",
        "customer_name": "Ava Smith",
        "ship_option": "Standard",
        "lines": [line, {**line, "quantity": 2}, line],
    }
    response = Client().post(
        "/api/v1/orders",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 400
    assert response.json()["errors"]["lines[2]"] == [
        "lines[2] repeats lines[0] exactly; for two units write quantity 2"
    ]
    assert not Order.objects.filter(number="API-D").exists()


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_semicolon_or_tab_separated_excel_file_is_read(merchant, products, centers, separator):
    # What Excel in a German or French locale saves: a byte-order mark, ';' (or tabs for
    # "Unicode text"), CRLF, and a quoted cell holding the separator.
    rows = [
        ["order_number", "ship_name", "address1", "city", "region", "postal_code"],
        ["EU-1", "Ava Smith", f'"1 Market Street{separator} rear"', "New York", "NY", "10001"],
        ["EU-2", "Bo Jones", "2 Market Street", "New York", "NY", "10001"],
    ]
    extra = ["country", "ship_option", "sku", "quantity", "unit_price"]
    values = ["US", "Standard", "TEE-1", "1", "20.00"]
    text = "\r\n".join(
        separator.join(row + (extra if n == 0 else values)) for n, row in enumerate(rows)
    )
    batch = run(merchant, ("\ufeff" + text + "\r\n").encode())
    assert (batch.state, batch.created, batch.errors) == ("done", 2, 0)
    order = Order.objects.get(number="EU-1")
    assert order.address1 == f"1 Market Street{separator} rear"
    assert order.status == "processing", (order.hold_reason, order.hold_note)


def test_a_file_mixing_separators_is_refused_with_a_hint(merchant):
    data = b"order_number;draft,sku,quantity\r\n1;no,TEE-1,1\r\n"
    with pytest.raises(importing.ImportFileError) as refused:
        create_batch(merchant=merchant, content=importing.decode_upload(data))
    assert "Unknown column(s): order_number;draft" in refused.value.message
    assert "'CSV UTF-8 (Comma delimited)'" in refused.value.message
    assert ImportBatch.objects.count() == 0


def test_skus_match_ignoring_case_and_surrounding_spaces(merchant, products, centers):
    data = lines(
        f'LOW-1,{ADDRESS},"  tee-1 ",1,20.00,',
        f"LOW-2,{ADDRESS.replace('Standard', ' STANDARD ')},Tee-1,1,20.00,",
    )
    batch = run(merchant, data)
    assert batch.created == 2
    for number in ["LOW-1", "LOW-2"]:
        order = Order.objects.get(number=number)
        assert order.status == "processing", (order.hold_reason, order.hold_note)
        assert order.lines.get().product == products["stock"]
    # The line keeps the SKU as the store sent it (minus the spaces around it).
    assert Order.objects.get(number="LOW-2").lines.get().sku == "Tee-1"


def test_review_links_a_sku_added_later_in_another_case(
    merchant, products, centers, manager, django_capture_on_commit_callbacks
):
    run(merchant, lines(f"LATE-1,{ADDRESS},mug-11,1,12.00,"))
    held = Order.objects.get(number="LATE-1")
    assert (held.status, held.hold_reason) == ("action_required", "product_configuration")
    mug = Product.objects.create(merchant=merchant, sku="MUG-11", name="Mug", kind="print")
    with django_capture_on_commit_callbacks(execute=True):  # the review task runs
        order_transition(order=held, name="retry", by=manager)
    order = Order.objects.get(number="LATE-1")
    assert order.lines.get().product == mug
    assert order.hold_reason != "product_configuration"


def test_a_sku_spelled_exactly_wins_over_one_differing_in_case(merchant, products):
    lower = Product.objects.create(merchant=merchant, sku="tee-1", name="Other", kind="stock")
    found = products_by_sku(merchant.pk, ["tee-1", "TEE-1", " Tee-1"])
    assert found["tee-1"] == lower
    assert found["TEE-1"] == products["stock"]
    assert found[" Tee-1"] == products["stock"]  # the older of the two
    assert match_key("  MUG-11 ") == match_key("mug-11")


def test_rows_are_numbered_as_a_spreadsheet_shows_them(merchant, products):
    # Row 2 has a cell with a line break in it (one row, two lines of the file); row 3 has a
    # bad quantity; a blank row 4 is skipped; row 5 has a bad price.
    data = lines(
        'N-1,Ava Smith,"1 Market Street\r\nback door",New York,NY,10001,US,Standard,TEE-1,1,20,',
        f"N-2,{ADDRESS},TEE-1,lots,20.00,",
        "",
        f"N-3,{ADDRESS},TEE-1,1,cheap,",
    )
    batch = run(merchant, data)
    assert sorted(batch.rows.filter(outcome="error").values_list("row", "field")) == [
        (3, "quantity"),
        (5, "unit_price"),
    ]
    assert batch.rows.get(number="N-1").row == 2
    assert Order.objects.get(number="N-1").address1 == "1 Market Street\r\nback door"


def test_an_invalid_csv_row_is_named_by_its_spreadsheet_row(merchant):
    # Row 3 holds a cell longer than the csv module reads (lines 3 and 4 of the file).
    data = lines(
        'N-1,Ava,"two\nlines",New York,NY,10001,US,Standard,TEE-1,1,20,', "N-2," + "x" * 200_000
    )
    with pytest.raises(importing.ImportFileError) as refused:
        create_batch(merchant=merchant, content=importing.decode_upload(data))
    assert refused.value.message.startswith("Row 3 ")


def test_the_admin_hand_over_finds_the_ship_option_by_the_same_rule(
    client, staff, make_order, drive
):
    order = drive(make_order(ship_option=" STANDARD "), "labeled")
    Order.objects.filter(pk=order.pk).update(carrier="", service="")  # none copied yet
    client.force_login(staff)
    download = client.post(
        "/admin/orders/order/",
        {"action": "bulk_hand_over", "_selected_action": [order.pk], "download_csv": "1"},
    )
    rows = download.content.decode().splitlines()
    assert rows[1] == f"{order.number},,USPS,Ground Advantage"
