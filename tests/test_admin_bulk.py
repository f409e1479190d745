"""Staff bulk actions in the admin: each applies to the selected orders it is allowed for,
reports the others with the reason, asks for input once per batch; work-queue filters."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from orders.models import InventoryLevel, Order, StatusChange
from orders.services import order_transition

URL = "/admin/orders/order/"


@pytest.fixture
def ops(client, staff):
    client.force_login(staff)
    return client


def _fresh(order):
    return Order.objects.get(pk=order.pk)


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _run(client, action, orders, url=URL, **extra):
    data = {"action": action, "index": "0", "_selected_action": [o.pk for o in orders]}
    data.update(extra)
    return client.post(url, data)


def _held(make_order, reason):
    order = make_order()
    return order_transition(order=order, name="hold", by="review", params={"reason": reason})


# (action, kind and state of an order it is allowed for, kind and state of one it is not)
PLAIN_ACTIONS = [
    ("start_pick", ("stock", "processing"), ("print", "processing"), "pick_in_process"),
    ("finish_pick", ("stock", "pick_in_process"), ("stock", "processing"), "picked"),
    ("start_digitizing", ("embroidery", "processing"), ("print", "processing"), "digitizing"),
    ("start_upload", ("print", "processing"), ("stock", "processing"), "uploading"),
    ("pass_file", ("print", "uploading"), ("print", "processing"), "passed"),
    ("start_production", ("print", "passed"), ("print", "uploading"), "in_production"),
    ("finish_production", ("print", "in_production"), ("print", "passed"), "printed"),
    ("pack_and_label", ("stock", "picked"), ("stock", "pick_in_process"), "labeled"),
]


@pytest.mark.parametrize("name, allowed, refused, target", PLAIN_ACTIONS)
def test_plain_bulk_action_applies_where_allowed_and_reports_refusals(
    ops, staff, make_order, drive, name, allowed, refused, target
):
    good = [drive(make_order(kind=allowed[0]), allowed[1]) for _ in range(2)]
    bad = drive(make_order(kind=refused[0]), refused[1])
    before = bad.status

    response = _run(ops, f"bulk_{name}", [*good, bad])

    assert response.status_code == 302
    for order in good:
        assert _fresh(order).status == target
        change = StatusChange.objects.filter(order=order, transition=name).get()
        assert (change.actor, change.target) == (staff, target)
    assert _fresh(bad).status == before
    assert not StatusChange.objects.filter(order=bad, transition=name).exists()
    msgs = _messages(response)
    assert any("done for 2 orders" in m and good[0].number in m for m in msgs)
    refusal = next(m for m in msgs if "refused for 1 order" in m)
    assert bad.number in refusal and "not possible while the order is" in refusal


@pytest.mark.parametrize(
    "name, allowed_reason, refused_reason, target",
    [
        ("release", "special_requirements", "pending_approval", "import_review"),
        ("approve", "pending_approval", "special_requirements", "import_review"),
        ("decline", "pending_approval", "special_requirements", "cancelled"),
    ],
)
def test_hold_resolutions_in_bulk(
    ops, staff, make_order, name, allowed_reason, refused_reason, target
):
    good = _held(make_order, allowed_reason)
    bad = _held(make_order, refused_reason)
    response = _run(ops, f"bulk_{name}", [good, bad])
    assert _fresh(good).status == target
    assert StatusChange.objects.get(order=good, transition=name).actor == staff
    assert _fresh(bad).status == "action_required"
    assert _fresh(bad).hold_reason == refused_reason
    assert any(bad.number in m and "refused for" in m for m in _messages(response))


@pytest.mark.parametrize("name, target", [("mark_paid", "paid"), ("refuse_payment", "refused")])
def test_payment_bulk_actions_skip_orders_already_paid(ops, make_order, drive, name, target):
    pending = drive(make_order(), "processing")
    paid = order_transition(
        order=drive(make_order(), "processing"), name="mark_paid", by="payments"
    )
    response = _run(ops, f"bulk_{name}", [pending, paid])
    assert _fresh(pending).payment_status == target
    assert _fresh(paid).payment_status == "paid"
    refusal = next(m for m in _messages(response) if "refused for" in m)
    assert paid.number in refusal and "payment is Paid" in refusal


def test_hold_asks_for_reason_once_then_holds_each_allowed_order(ops, staff, make_order, drive):
    good = [drive(make_order(), "processing"), drive(make_order(), "picked")]
    bad = drive(make_order(), "labeled")
    page = _run(ops, "bulk_hold", [*good, bad])
    assert page.status_code == 200
    assert b"Hold" in page.content and b'name="reason"' in page.content
    assert all(_fresh(o).status != "action_required" for o in good)  # nothing yet

    response = ops.post(
        URL,
        {
            "action": "bulk_hold",
            "_selected_action": [o.pk for o in [*good, bad]],
            "apply": "1",
            "reason": "special_requirements",
            "note": "Gift wrap requested",
        },
    )
    assert response.status_code == 302
    for order in good:
        fresh = _fresh(order)
        assert (fresh.status, fresh.hold_reason, fresh.hold_note) == (
            "action_required",
            "special_requirements",
            "Gift wrap requested",
        )
        assert StatusChange.objects.get(order=order, transition="hold").actor == staff
    assert _fresh(bad).status == "labeled"
    assert any(bad.number in m for m in _messages(response) if "refused for" in m)


def test_hold_without_a_reason_shows_the_form_again_and_changes_nothing(ops, make_order, drive):
    order = drive(make_order(), "processing")
    response = ops.post(
        URL, {"action": "bulk_hold", "_selected_action": [order.pk], "apply": "1", "reason": ""}
    )
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert _fresh(order).status == "processing"


def test_fail_asks_for_reason_once_and_fails_each_allowed_order(ops, make_order, drive):
    good = drive(make_order(kind="print"), "uploading")
    bad = drive(make_order(), "processing")  # stock processing cannot fail
    response = ops.post(
        URL,
        {
            "action": "bulk_fail",
            "_selected_action": [good.pk, bad.pk],
            "apply": "1",
            "reason": "Artwork rejected: 72 dpi",
        },
    )
    assert response.status_code == 302
    assert _fresh(good).status == "failed"
    assert _fresh(good).failure_reason == "Artwork rejected: 72 dpi"
    assert _fresh(bad).status == "processing"
    assert any(bad.number in m for m in _messages(response) if "refused for" in m)


# --- hand over -----------------------------------------------------------------------------


def test_hand_over_page_lists_selected_orders_prefilled_one_line_each(ops, make_order, drive):
    orders = [drive(make_order(), "labeled") for _ in range(3)]
    page = _run(ops, "bulk_hand_over", orders)
    assert page.status_code == 200
    text = page.content.decode()
    for order in orders:
        assert f"{order.number}," in text
    assert all(_fresh(o).status == "labeled" for o in orders)


def test_hand_over_with_pasted_lines_sets_each_tracking_number(ops, staff, make_order, drive):
    a, b = drive(make_order(), "labeled"), drive(make_order(), "labeled")
    not_labeled = drive(make_order(), "picked")
    no_line = drive(make_order(), "labeled")
    lines = f"{a.number},TRACK-A\n{b.number}\tTRACK-B\tDHL\tExpress\n{not_labeled.number},TRACK-C\n"
    response = ops.post(
        URL,
        {
            "action": "bulk_hand_over",
            "_selected_action": [o.pk for o in (a, b, not_labeled, no_line)],
            "apply": "1",
            "carrier": "UPS",
            "service": "Ground",
            "tracking_lines": lines + f"{no_line.number},\n",
        },
    )
    assert response.status_code == 302
    fa, fb = _fresh(a), _fresh(b)
    assert (fa.status, fa.carrier, fa.service, fa.tracking_number) == (
        "shipped",
        "UPS",
        "Ground",
        "TRACK-A",
    )
    assert (fb.status, fb.carrier, fb.service, fb.tracking_number) == (
        "shipped",
        "DHL",
        "Express",
        "TRACK-B",
    )
    assert StatusChange.objects.get(order=a, transition="hand_over").actor == staff
    assert _fresh(not_labeled).status == "picked"
    assert _fresh(no_line).status == "labeled"
    msgs = _messages(response)
    assert any("done for 2 orders" in m for m in msgs)
    assert any(no_line.number in m and "no tracking number given" in m for m in msgs)
    assert any(not_labeled.number in m and "not possible" in m for m in msgs)


def test_hand_over_without_batch_carrier_uses_the_ship_option_mapping(ops, make_order, drive):
    order = drive(make_order(ship_option="Standard"), "labeled")
    ops.post(
        URL,
        {
            "action": "bulk_hand_over",
            "_selected_action": [order.pk],
            "apply": "1",
            "tracking_lines": f"{order.number},9400111899223",
        },
    )
    fresh = _fresh(order)
    assert (fresh.status, fresh.carrier, fresh.service) == ("shipped", "USPS", "Ground Advantage")


def test_hand_over_with_unknown_order_number_changes_nothing(ops, make_order, drive):
    order = drive(make_order(), "labeled")
    response = ops.post(
        URL,
        {
            "action": "bulk_hand_over",
            "_selected_action": [order.pk],
            "apply": "1",
            "carrier": "UPS",
            "tracking_lines": f"{order.number},T1\nNOT-SELECTED,T2",
        },
    )
    assert response.status_code == 200
    assert b"not among the selected orders" in response.content
    assert _fresh(order).status == "labeled"


def test_hand_over_refuses_the_same_tracking_number_twice(ops, make_order, drive):
    a, b = drive(make_order(), "labeled"), drive(make_order(), "labeled")
    response = ops.post(
        URL,
        {
            "action": "bulk_hand_over",
            "_selected_action": [a.pk, b.pk],
            "apply": "1",
            "carrier": "UPS",
            "tracking_lines": f"{a.number},SAME\n{b.number},SAME",
        },
    )
    assert response.status_code == 200
    assert b"each parcel has its own" in response.content
    assert _fresh(a).status == _fresh(b).status == "labeled"


def test_hand_over_csv_download_and_upload_round_trip(ops, make_order, drive):
    from django.core.files.uploadedfile import SimpleUploadedFile

    orders = [drive(make_order(), "labeled") for _ in range(3)]
    ids = [o.pk for o in orders]
    download = ops.post(
        URL, {"action": "bulk_hand_over", "_selected_action": ids, "download_csv": "1"}
    )
    assert download["Content-Type"].startswith("text/csv")
    rows = download.content.decode().splitlines()
    assert rows[0] == "order_number,tracking_number,carrier,service"
    assert {r.split(",")[0] for r in rows[1:]} == {o.number for o in orders}
    # Staff fill in the tracking column in a spreadsheet and upload the file again.
    filled = [rows[0]] + [
        f"{r.split(',')[0]},CSV{n},{','.join(r.split(',')[2:])}" for n, r in enumerate(rows[1:])
    ]
    upload = SimpleUploadedFile("hand-over.csv", "\n".join(filled).encode(), "text/csv")
    response = ops.post(
        URL,
        {
            "action": "bulk_hand_over",
            "_selected_action": ids,
            "apply": "1",
            "tracking_csv": upload,
        },
    )
    assert response.status_code == 302
    shipped = Order.objects.filter(pk__in=ids)
    assert {o.status for o in shipped} == {"shipped"}
    assert {o.tracking_number for o in shipped} == {"CSV0", "CSV1", "CSV2"}
    assert {o.carrier for o in shipped} == {"USPS"}  # from the mapping the CSV carried


@pytest.mark.slow
def test_staff_takes_100_orders_from_processing_to_shipped_in_five_posts(
    ops, make_order, drive, centers
):
    orders = [drive(make_order(), "processing") for _ in range(100)]
    level = InventoryLevel.objects.get(center=centers[0], product__sku="TEE-1")
    assert (level.on_hand, level.reserved) == (100, 100)
    posts = 0

    def select_all(action, queue):
        nonlocal posts
        posts += 1
        return _run(
            ops,
            action,
            orders[:1],
            url=f"{URL}?queue={queue}&center__id__exact={centers[0].pk}",
            select_across="1",
        )

    assert select_all("bulk_start_pick", "to_pick").status_code == 302
    assert select_all("bulk_finish_pick", "picking").status_code == 302
    assert select_all("bulk_pack_and_label", "to_pack").status_code == 302
    page = select_all("bulk_hand_over", "to_hand_over")
    assert page.status_code == 200
    prefilled = page.context["form"].initial["tracking_lines"].splitlines()
    assert len(prefilled) == 100
    # The label printer's export is pasted as-is: one "NUMBER,TRACKING" line per parcel.
    lines = "\n".join(f"{line}1Z{n:016d}" for n, line in enumerate(prefilled))
    posts += 1
    response = ops.post(
        f"{URL}?queue=to_hand_over",
        {
            "action": "bulk_hand_over",
            "_selected_action": [o.pk for o in orders],
            "apply": "1",
            "carrier": "UPS",
            "service": "Ground",
            "tracking_lines": lines,
        },
    )
    assert response.status_code == 302
    assert posts == 5
    assert Order.objects.filter(status="shipped").count() == 100
    assert (
        Order.objects.filter(status="shipped").values("tracking_number").distinct().count() == 100
    )
    assert StatusChange.objects.filter(transition="hand_over").count() == 100
    level = InventoryLevel.objects.get(pk=level.pk)
    assert (level.on_hand, level.reserved) == (0, 0)
    assert any("done for 100 orders" in m for m in _messages(response))


# --- work queues ---------------------------------------------------------------------------


def _listed(client, query):
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200
    return {o.pk for o in response.context["cl"].result_list}


def test_work_queues_list_what_waits_for_each_step(ops, make_order, drive):
    to_pick = drive(make_order(), "processing")
    picking = drive(make_order(), "pick_in_process")
    picked = drive(make_order(), "picked")
    printed = drive(make_order(kind="print"), "printed")
    labeled = drive(make_order(), "labeled")
    to_upload = drive(make_order(kind="print"), "processing")
    to_digitize = drive(make_order(kind="embroidery"), "processing")
    held = _held(make_order, "pending_approval")
    merchant_hold = _held(make_order, "invalid_address")
    assert _listed(ops, "queue=to_pick") == {to_pick.pk}
    assert _listed(ops, "queue=picking") == {picking.pk}
    assert _listed(ops, "queue=to_pack") == {picked.pk, printed.pk}
    assert _listed(ops, "queue=to_hand_over") == {labeled.pk}
    assert _listed(ops, "queue=to_upload") == {to_upload.pk}
    assert _listed(ops, "queue=to_digitize") == {to_digitize.pk}
    assert _listed(ops, "queue=staff_holds") == {held.pk}
    assert merchant_hold.pk not in _listed(ops, "queue=staff_holds")


def test_work_queue_per_center(ops, make_order, drive, centers):
    newark = drive(make_order(), "processing", center=centers[0])
    leipzig = drive(make_order(), "processing", center=centers[1])
    assert _listed(ops, f"queue=to_pick&center__id__exact={centers[0].pk}") == {newark.pk}
    assert _listed(ops, f"queue=to_pick&center__id__exact={centers[1].pk}") == {leipzig.pk}


def test_late_and_stuck_queues(ops, make_order, drive):
    late = drive(make_order(), "picked")
    on_time = drive(make_order(), "picked")
    stuck = make_order()
    fresh_review = make_order()
    past = timezone.now() - datetime.timedelta(hours=1)
    # Time columns only (never a status field): the order's promise has passed.
    Order.objects.filter(pk=late.pk).update(ship_by=past)
    Order.objects.filter(pk=stuck.pk).update(
        status_changed_at=timezone.now() - datetime.timedelta(minutes=30)
    )
    assert _listed(ops, "queue=late") == {late.pk}
    assert on_time.pk not in _listed(ops, "queue=late")
    assert _listed(ops, "queue=stuck") == {stuck.pk}
    assert fresh_review.pk not in _listed(ops, "queue=stuck")


def test_unknown_queue_value_lists_everything_instead_of_failing(ops, make_order):
    order = make_order()
    assert order.pk in _listed(ops, "queue=nonsense")


def test_bulk_actions_are_offered_for_every_staff_transition(ops):
    response = ops.get(URL)
    offered = {value for value, _label in response.context["action_form"].fields["action"].choices}
    for name in [
        "start_pick", "finish_pick", "pack_and_label", "hand_over", "start_digitizing",
        "start_upload", "pass_file", "start_production", "finish_production", "hold",
        "release", "approve", "decline", "fail", "mark_paid", "refuse_payment",
    ]:  # fmt: skip
        assert f"bulk_{name}" in offered


def _queries(client, fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = fn()
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_queue_list_and_hand_over_page_take_the_same_queries_for_3_or_30_orders(
    ops, make_order, drive
):
    orders = [drive(make_order(), "labeled") for _ in range(3)]
    few_list = _queries(ops, lambda: ops.get(f"{URL}?queue=to_hand_over"))
    few_page = _queries(ops, lambda: _run(ops, "bulk_hand_over", orders))
    orders += [drive(make_order(), "labeled") for _ in range(27)]
    assert _queries(ops, lambda: ops.get(f"{URL}?queue=to_hand_over")) == few_list
    assert _queries(ops, lambda: _run(ops, "bulk_hand_over", orders)) == few_page


# --- a chunk of orders per transaction -------------------------------------------------------


def _counts_match(merchant):
    from orders.counts import status_counts

    from .test_status_counts import fresh_counts

    assert status_counts(merchant) == fresh_counts(merchant)


def test_bulk_hold_over_a_mix_writes_one_history_row_event_and_audit_entry_per_order(
    ops, staff, merchant, make_order, drive
):
    from orders.event_models import Event
    from orders.models import AuditEntry

    good = [
        drive(make_order(), "processing"),
        drive(make_order(kind="print"), "processing"),
        drive(make_order(), "pick_in_process"),
        drive(make_order(), "picked"),
    ]
    bad = [drive(make_order(), "labeled"), drive(make_order(kind="print"), "printed")]
    before = Event.objects.count()
    level = InventoryLevel.objects.get(product__sku="TEE-1", center=good[0].center)
    response = ops.post(
        URL,
        {
            "action": "bulk_hold",
            "_selected_action": [o.pk for o in [*good, *bad]],
            "apply": "1",
            "reason": "special_requirements",
            "note": "Check the gift message",
        },
    )
    assert response.status_code == 302
    for order in good:
        assert _fresh(order).status == "action_required"
        change = StatusChange.objects.get(order=order, transition="hold")
        assert (change.actor, change.source, change.reason) == (
            staff,
            order.status,
            "Check the gift message",
        )
        assert Event.objects.filter(order=order, type="order.held").count() == 1
    assert Event.objects.count() == before + len(good)
    for order in bad:
        assert _fresh(order).status == order.status
        assert not StatusChange.objects.filter(order=order, transition="hold").exists()
    entries = {e.numbers: e.outcome for e in AuditEntry.objects.filter(action="hold")}
    assert entries == {
        **{o.number: "done" for o in good},
        **{o.number: "refused" for o in bad},
    }
    _counts_match(merchant)
    # Stock stays reserved through a hold: what was set aside still is.
    assert InventoryLevel.objects.get(pk=level.pk).reserved == level.reserved


def test_bulk_release_in_chunks_releases_stock_and_keeps_counts(
    ops, merchant, make_order, drive, monkeypatch
):
    import orders.bulk

    monkeypatch.setattr(orders.bulk, "CHUNK", 2)
    held = [
        order_transition(
            order=drive(make_order(), "processing"),
            name="hold",
            by="review",
            params={"reason": "special_requirements"},
        )
        for _ in range(5)
    ]
    level = InventoryLevel.objects.get(product__sku="TEE-1", center=held[0].center)
    assert level.reserved == 5
    from orders.tasks import reviews_deferred

    with reviews_deferred():
        response = _run(ops, "bulk_release", held)
    assert response.status_code == 302
    assert {_fresh(o).status for o in held} == {"import_review"}
    assert StatusChange.objects.filter(transition="release").count() == 5
    assert InventoryLevel.objects.get(pk=level.pk).reserved == 0
    assert not any(_fresh(o).stock_reserved for o in held)
    _counts_match(merchant)


def test_a_chunk_that_fails_is_redone_one_order_at_a_time(
    ops, merchant, make_order, drive, monkeypatch
):
    import orders.bulk

    def broken(applied):
        raise RuntimeError("the database went away for a moment")

    monkeypatch.setattr(orders.bulk, "_write", broken)
    orders_ = [drive(make_order(), "processing") for _ in range(3)]
    picked = drive(make_order(), "picked")
    response = _run(ops, "bulk_start_pick", [*orders_, picked])
    assert {_fresh(o).status for o in orders_} == {"pick_in_process"}
    assert StatusChange.objects.filter(order__in=orders_, transition="start_pick").count() == 3
    msgs = _messages(response)
    assert any("done for 3 orders" in m for m in msgs)
    assert any(picked.number in m and "refused for 1 order" in m for m in msgs)
    _counts_match(merchant)


def test_an_order_that_moved_on_since_the_list_was_shown_is_refused(ops, make_order, drive):
    seen = drive(make_order(), "processing")
    moved = drive(make_order(), "processing")
    moved_on = order_transition(order=moved, name="start_pick", by="review")
    response = ops.post(
        URL,
        {
            "action": "bulk_start_pick",
            "_selected_action": [seen.pk, moved.pk],
            f"seen-{seen.pk}": "processing",
            f"seen-{moved.pk}": "processing",
        },
    )
    assert _fresh(seen).status == "pick_in_process"
    assert _fresh(moved).status == moved_on.status == "pick_in_process"
    assert StatusChange.objects.filter(order=moved, transition="start_pick").count() == 1
    refusal = next(m for m in _messages(response) if "refused for" in m)
    assert moved.number in refusal and "changed meanwhile" in refusal


def test_a_bulk_action_costs_the_same_queries_plus_one_save_per_order(ops, make_order, drive):
    """A chunk's lock, lines, history, events, counts and audit are one query each whatever
    its size; each order adds only its own guarded row UPDATE."""
    few = [drive(make_order(), "processing") for _ in range(3)]
    many = [drive(make_order(), "processing") for _ in range(12)]
    _run(ops, "bulk_start_pick", [drive(make_order(), "processing")])  # warm the counts rows
    cost_few = _post_queries(lambda: _run(ops, "bulk_start_pick", few))
    cost_many = _post_queries(lambda: _run(ops, "bulk_start_pick", many))
    assert cost_many - cost_few == len(many) - len(few)
    assert StatusChange.objects.filter(transition="start_pick").count() == 16


def _post_queries(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert fn().status_code == 302
    return len(ctx.captured_queries)
