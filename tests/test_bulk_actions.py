import re

import pytest

from dashboard.views import bulk
from orders.models import Order, StatusChange

from .dashboard_helpers import login

BULK = "/orders/actions/bulk/"


def statuses(*orders):
    return [Order.objects.get(pk=o.pk).status for o in orders]


def test_first_post_asks_for_confirmation_and_changes_nothing(client, manager, make_order):
    a, b = make_order(), make_order()
    login(client, manager)
    response = client.post(
        BULK, {"action": "cancel", "scope": "selected", "selected": [a.pk, b.pk]}
    )
    assert response.status_code == 200
    assert b"Cancel 2 orders?" in response.content
    assert b"will not be fulfilled" in response.content
    assert b'name="confirmed" value="1"' in response.content
    assert statuses(a, b) == ["import_review", "import_review"]


def test_bulk_cancel_of_selected_rows_reports_each_order(client, manager, make_order, drive):
    ok = make_order(number="B-OK")
    printed = drive(make_order(number="B-PRINTED", kind="print"), "printed")
    also_ok = drive(make_order(number="B-PICKED"), "picked")
    before = StatusChange.objects.filter(order=printed).count()
    login(client, manager)
    response = client.post(
        BULK,
        {
            "action": "cancel",
            "scope": "selected",
            "selected": [ok.pk, printed.pk, also_ok.pk],
            "confirmed": "1",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "2 done, 1 refused" in body
    assert re.search(
        r"B-PRINTED.*?Refused.*?already printed: can no longer be cancelled", body, re.S
    )
    assert statuses(ok, printed, also_ok) == ["cancelled", "printed", "cancelled"]
    # The refused order is untouched: no history row, payment unchanged.
    assert StatusChange.objects.filter(order=printed).count() == before
    assert Order.objects.get(pk=printed.pk).payment_status == "pending"
    for order in (ok, also_ok):
        assert StatusChange.objects.filter(order=order, transition="cancel", actor=manager)


def test_bulk_clean_sweep_of_all_matching_the_filter(client, manager, staff, make_order, drive):
    held = [make_order(number=f"F-{i}") for i in range(3)]
    from .dashboard_helpers import fail

    failed = [fail(o, staff) for o in held]
    live = make_order(number="KEEP-ME")
    started = drive(make_order(number="STARTED"), "pick_in_process")
    login(client, manager)
    confirm = client.post(f"{BULK}?group=failed", {"action": "clean_sweep", "scope": "all"})
    assert b"Clean sweep 3 orders?" in confirm.content
    assert b'action="/orders/actions/bulk/?group=failed"' in confirm.content
    response = client.post(
        f"{BULK}?group=failed", {"action": "clean_sweep", "scope": "all", "confirmed": "1"}
    )
    assert b"3 done, 0 refused" in response.content
    assert statuses(*failed) == ["clean_swept"] * 3
    assert statuses(live, started) == ["import_review", "pick_in_process"]


def test_clean_sweep_refuses_orders_where_fulfillment_started(client, manager, make_order, drive):
    fresh = make_order()
    started = drive(make_order(), "picked")
    login(client, manager)
    response = client.post(
        BULK,
        {
            "action": "clean_sweep",
            "scope": "selected",
            "selected": [fresh.pk, started.pk],
            "confirmed": "1",
        },
    )
    assert b"1 done, 1 refused" in response.content
    assert b"fulfillment has started (Picked)" in response.content
    assert statuses(fresh, started) == ["clean_swept", "picked"]


def test_an_order_changed_since_the_list_was_shown_is_left_alone(
    client, manager, make_order, drive
):
    order = make_order()
    login(client, manager)
    drive(order, "processing")
    response = client.post(
        BULK,
        {
            "action": "cancel",
            "scope": "selected",
            "selected": [order.pk],
            f"seen-{order.pk}": "import_review",
            "confirmed": "1",
        },
    )
    assert b"changed meanwhile" in response.content
    assert statuses(order) == ["processing"]


def test_other_merchants_orders_are_never_touched(client, manager, other_merchant, make_order):
    ours = make_order()
    theirs = make_order(target_merchant=other_merchant)
    login(client, manager)
    response = client.post(
        BULK,
        {
            "action": "cancel",
            "scope": "selected",
            "selected": [ours.pk, theirs.pk],
            "confirmed": "1",
        },
    )
    assert b"1 done, 0 refused" in response.content
    assert b"not found for this merchant" in response.content
    assert statuses(ours, theirs) == ["cancelled", "import_review"]


def test_all_matching_is_capped_and_says_so(client, manager, make_order, monkeypatch):
    monkeypatch.setattr(bulk, "BULK_LIMIT", 2)
    orders = [make_order() for _ in range(3)]
    login(client, manager)
    response = client.post(
        BULK, {"action": "cancel", "scope": "all", "confirmed": "1"}, follow=True
    )
    assert b"at most 2 at a time" in response.content
    assert b"Nothing was done" in response.content
    assert statuses(*orders) == ["import_review"] * 3


@pytest.mark.parametrize(
    "data",
    [
        {"action": "cancel", "scope": "selected"},
        {"action": "explode", "scope": "all"},
        {"action": "cancel", "scope": "everything"},
        {"action": "cancel", "scope": "selected", "selected": ["x"]},
    ],
)
def test_bad_bulk_input_gets_a_message_not_a_500(client, manager, make_order, data):
    order = make_order()
    login(client, manager)
    response = client.post(BULK, {**data, "confirmed": "1"}, follow=True)
    assert response.status_code == 200
    assert b"message-error" in response.content
    assert statuses(order) == ["import_review"]


def test_bulk_is_post_only(client, manager):
    login(client, manager)
    assert client.get(BULK).status_code == 405


def test_all_matching_a_bad_filter_does_nothing(client, manager, make_order):
    orders = [make_order() for _ in range(2)]
    login(client, manager)
    response = client.post(
        f"{BULK}?group=failed&created_after=garbage",
        {"action": "cancel", "scope": "all", "confirmed": "1"},
        follow=True,
    )
    assert b"Fix the filter first: nothing was done." in response.content
    assert statuses(*orders) == ["import_review"] * 2


def test_out_of_range_ids_are_just_not_found(client, manager, make_order):
    order = make_order()
    login(client, manager)
    response = client.post(
        BULK,
        {
            "action": "cancel",
            "scope": "selected",
            "selected": [order.pk, "99999999999999999999999"],
            "confirmed": "1",
        },
    )
    assert response.status_code == 200
    assert b"1 done, 0 refused" in response.content
    assert b"1 selected order was not found for this merchant" in response.content
    assert statuses(order) == ["cancelled"]
