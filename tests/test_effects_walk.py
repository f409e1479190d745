"""The one writer of a status change's effects (orders/effects.py): every transition of both
state machines, every intake path and every bulk path leaves exactly one history row per
change and the expected outbox event, and nothing after a rollback."""

from decimal import Decimal

import pytest
from django.db import transaction
from django_fsm import can_proceed

from orders import events as ev
from orders.effects import record_event
from orders.importing import import_orders, parse_api_order
from orders.models import Event, Order, StatusChange
from orders.review import review_orders
from orders.services import (
    order_create,
    order_create_many,
    order_request_address_change,
    order_transition,
)
from tests.conftest import US_ADDRESS
from tests.test_import import csv_text, run

# The API contract: which event each transition writes (None: not announced).
EXPECTED = {
    "submit": ev.IMPORTED,
    "accept": ev.ACCEPTED,
    "hold": ev.HELD,
    "retry": ev.RELEASED,
    "approve": ev.RELEASED,
    "release": ev.RELEASED,
    "decline": ev.CANCELLED,
    "start_pick": None,
    "finish_pick": None,
    "start_digitizing": None,
    "start_upload": None,
    "pass_file": None,
    "start_production": None,
    "finish_production": None,
    "fail": ev.FAILED,
    "pack_and_label": None,
    "hand_over": ev.SHIPPED,
    "scan": ev.TRACKING_UPDATED,
    "out_for_delivery": ev.TRACKING_UPDATED,
    "deliver": ev.DELIVERED,
    "exception": ev.DELIVERY_EXCEPTION,
    "return_to_sender": ev.RETURNED,
    "cancel": ev.CANCELLED,
    "clean_sweep": ev.CLEAN_SWEPT,
    "mark_paid": ev.PAYMENT_UPDATED,
    "refuse_payment": ev.PAYMENT_UPDATED,
    "cancel_payment": ev.PAYMENT_UPDATED,
    "refund": ev.PAYMENT_UPDATED,
}

MACHINES = {"status", "payment_status"}
HOLD_REASONS_TO_TRY = ["invalid_address", "pending_approval", "special_requirements"]


def all_transitions():
    found = []
    for field in MACHINES:
        for t in Order._meta.get_field(field).get_all_transitions(Order):
            found.append((field, t.name, [t.source]))
    return found


def params_for(name, centers):
    return {
        "accept": {"center": centers[0]},
        "hold": {"reason": "special_requirements", "note": "gift wrap unclear"},
        "fail": {"reason": "Artwork rejected"},
        "hand_over": {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
        "refund": {"amount": "10.00"},
    }.get(name, {})


def actor_for(name, manager, staff):
    if name in ("submit", "retry", "cancel", "clean_sweep"):
        return manager
    if name == "accept":
        return "review"
    if name in ("scan", "out_for_delivery", "deliver", "exception", "return_to_sender"):
        return "carrier"
    if name == "cancel_payment":
        return "payments"
    return staff


@pytest.fixture
def reach(make_order, drive, staff, centers):
    """Orders in a given status (and payment status), each kind and hold reason tried."""

    def candidates(status, payment):
        kinds = ["stock", "print", "embroidery"]
        for kind in kinds:
            reasons = HOLD_REASONS_TO_TRY if status == "action_required" else [None]
            for reason in reasons:
                yield lambda kind=kind, reason=reason: build(kind, status, payment, reason)

    def build(kind, status, payment, reason):
        order = make_order(kind, draft=status == "draft", total=Decimal("40.00"))
        if payment == "paid" or payment == "partially_refunded":
            order = order_transition(order=order, name="mark_paid", by=staff)
        if payment == "partially_refunded":
            order = order_transition(
                order=order, name="refund", by=staff, params={"amount": "5.00"}
            )
        if payment == "refused":
            # Refusing holds a live order; release it back to review for other statuses.
            order = order_transition(order=order, name="refuse_payment", by=staff)
        if status in ("draft", "import_review"):
            if order.status == "action_required":
                return None
            return order
        if status == "action_required":
            if order.status == "action_required":
                return order if reason == "invalid_address" else None
            return order_transition(
                order=order, name="hold", by=staff, params={"reason": reason, "note": "x"}
            )
        if order.status == "action_required":
            return None
        if status == "failed":
            return order_transition(
                order=order, name="fail", by=staff, params={"reason": "Artwork rejected"}
            )
        if status == "delivery_exception":
            order = drive(order, "in_transit")
            return order_transition(order=order, name="exception", by="carrier")
        try:
            return drive(order, status)
        except AssertionError:
            return None

    def find(field, name, source):
        status, payment = (source, "pending") if field == "status" else ("import_review", source)
        if field == "payment_status" and source in ("paid", "partially_refunded"):
            status = "processing"
        if field == "payment_status" and source == "refused":
            status = "action_required"  # a refused payment holds the order
        for make in candidates(status, payment):
            order = make()
            if order is not None and can_proceed(getattr(order, name)):
                return order
        return None

    return find


def history_since(order, last_id):
    return list(StatusChange.objects.filter(order=order, pk__gt=last_id).order_by("id"))


def events_since(order, last_id):
    return list(Event.objects.filter(order=order, pk__gt=last_id).order_by("id"))


def last_ids():
    return (
        StatusChange.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        Event.objects.order_by("-id").values_list("id", flat=True).first() or 0,
    )


@pytest.mark.slow
def test_every_transition_of_both_machines_writes_one_history_row_and_its_event(
    reach, manager, staff, centers
):
    walked = set()
    for field, name, sources in all_transitions():
        for source in sources:
            if source in ("*", "+"):
                continue
            order = reach(field, name, source)
            assert order is not None, f"could not reach {source} for {name}"
            history_id, event_id = last_ids()
            order = order_transition(
                order=order,
                name=name,
                by=actor_for(name, manager, staff),
                params=params_for(name, centers),
            )
            rows = history_since(order, history_id)
            events = events_since(order, event_id)
            # One row for the transition itself; nested ones (cancel's payment settlement, a
            # refused payment's hold, a payment releasing a hold) have their own row.
            own = [r for r in rows if r.transition == name]
            assert len(own) == 1 and own[0].source == source, (name, source, rows)
            assert len({(r.field, r.transition) for r in rows}) == len(rows), (name, rows)
            expected = [EXPECTED[r.transition] for r in rows]
            assert ev.type_for_change(own[0].field, source, own[0].target) == EXPECTED[name]
            assert [e.type for e in events] == [t for t in expected if t], (name, source)
            for event in events:
                assert event.merchant_id == order.merchant_id
                assert event.payload["version"] == ev.PAYLOAD_VERSION
                assert event.payload["number"] == order.number
                assert event.payload["state"] == order.status
                assert event.payload["url"].endswith(f"/orders/{order.number}/")
            walked.add(name)
    assert walked == set(EXPECTED), set(EXPECTED) ^ walked


def test_held_event_carries_reason_detail_and_what_you_can_do(make_order, staff):
    order = make_order()
    order_transition(
        order=order,
        name="hold",
        by=staff,
        params={"reason": "invalid_address", "note": "postal code 1 is not a US ZIP"},
    )
    event = Event.objects.get(order=order, type=ev.HELD)
    assert event.payload["hold"] == {
        "reason": "invalid_address",
        "label": "Invalid address",
        "owner": "you",
        "detail": [],
        "facts": {},
        "note": "postal code 1 is not a US ZIP",
    }
    assert event.payload["sub_status"] == "Invalid address"
    assert event.payload["status"] == "Action Required"
    assert "Edit the address" in event.payload["what_you_can_do"]


def test_shipped_event_carries_carrier_service_and_tracking(make_order, drive):
    order = drive(make_order(), "shipped")
    payload = Event.objects.get(order=order, type=ev.SHIPPED).payload
    assert payload["shipment"]["carrier"] == "UPS"
    assert payload["shipment"]["tracking_number"] == "1Z999AA10123456784"
    assert payload["shipment"]["tracking_url"].startswith("https://")
    assert "service" in payload["shipment"]


def test_a_rolled_back_change_leaves_no_history_and_no_event(make_order, staff):
    order = make_order()
    history_id, event_id = last_ids()
    with pytest.raises(RuntimeError), transaction.atomic():
        order_transition(order=order, name="hold", by=staff, params={"reason": "invalid_address"})
        assert Event.objects.filter(order=order, type=ev.HELD).exists()
        raise RuntimeError("the caller's transaction fails after the change")
    assert history_since(order, history_id) == []
    assert events_since(order, event_id) == []
    assert Order.objects.get(pk=order.pk).status == "import_review"


def test_an_accept_without_stock_writes_nothing(make_order, centers):
    order = make_order(quantity=1000)
    history_id, event_id = last_ids()
    with pytest.raises(Exception, match="Not enough stock"):
        order_transition(order=order, name="accept", by="review", params={"center": centers[0]})
    assert history_since(order, history_id) == [] and events_since(order, event_id) == []


# --- intake paths --------------------------------------------------------------------------


def test_creating_an_order_writes_its_first_row_and_imported_event(merchant, products):
    order = order_create(
        merchant=merchant, by="test", number="C-1", lines=[{"sku": "TEE-1"}], **US_ADDRESS
    )
    assert list(order.history.values_list("transition", "target")) == [("import", "import_review")]
    assert list(Event.objects.filter(order=order).values_list("type", flat=True)) == [ev.IMPORTED]
    draft = order_create(
        merchant=merchant, by="test", number="C-2", lines=[{"sku": "TEE-1"}], draft=True
    )
    assert list(draft.history.values_list("transition", flat=True)) == ["create"]
    assert not Event.objects.filter(order=draft).exists()


def test_bulk_creation_writes_one_row_and_one_event_per_order(merchant, products):
    items = [
        {"number": f"B-{i}", "lines": [{"sku": "TEE-1"}], "fields": dict(US_ADDRESS)}
        for i in range(5)
    ]
    items[0]["fields"]["payment_status"] = "paid"
    items[1]["draft"] = True
    orders = order_create_many(merchant=merchant, by="test", items=items)
    for order in orders:
        rows = list(order.history.values_list("field", "transition"))
        events = list(Event.objects.filter(order=order).values_list("type", flat=True))
        if order.number == "B-0":
            assert rows == [("status", "import"), ("payment_status", "import")]
        elif order.number == "B-1":
            assert rows == [("status", "create")] and events == []
            continue
        else:
            assert rows == [("status", "import")]
        assert events == [ev.IMPORTED]


def test_api_import_and_chunked_review_write_each_change_once(merchant, products, centers):
    good = {"number": "A-1", "customer_name": "Ava", **US_ADDRESS, "ship_option": "Standard"}
    bad = {**good, "number": "A-2", "postal_code": ""}
    inputs = [
        parse_api_order({**data, "lines": [{"sku": "TEE-1", "quantity": 1}]}, i)
        for i, data in enumerate([good, bad], start=1)
    ]
    outcomes = import_orders(merchant=merchant, inputs=inputs, by="api")
    ids = [o.order.pk for o in outcomes]
    review_orders(ids)
    for order in Order.objects.filter(pk__in=ids):
        rows = list(order.history.values_list("transition", flat=True))
        events = list(
            Event.objects.filter(order=order).order_by("id").values_list("type", flat=True)
        )
        if order.number == "A-1":
            assert rows == ["import", "accept"] and events == [ev.IMPORTED, ev.ACCEPTED]
        else:
            assert rows == ["import", "hold"] and events == [ev.IMPORTED, ev.HELD]


def test_a_csv_batch_writes_its_orders_events_and_one_import_finished(merchant, products, centers):
    text = csv_text(
        {"order_number": "F-1"},
        {"order_number": "F-2", "postal_code": ""},
        {"order_number": "F-3", "sku": "NOPE"},
    )
    batch = run(merchant, text)
    events = Event.objects.filter(merchant=merchant)
    finished = events.filter(type=ev.IMPORT_FINISHED)
    assert finished.count() == 1
    info = finished.get().payload["import"]
    assert (info["id"], info["created"]) == (batch.pk, 3)
    assert info["url"].endswith(f"/imports/{batch.pk}/")
    assert events.filter(type=ev.IMPORTED).count() == 3
    assert events.filter(type=ev.HELD).count() == 2
    assert events.filter(type=ev.ACCEPTED).count() == 1
    # Every event of the batch carries it (so e-mail can summarise them at the end).
    assert set(events.values_list("batch_id", flat=True)) == {batch.pk}
    for order in Order.objects.filter(merchant=merchant):
        assert order.history.count() == Event.objects.filter(order=order).count()


def test_refused_payment_writes_payment_and_hold_events(make_order, staff):
    order = order_transition(order=make_order(), name="refuse_payment", by=staff)
    # The nested hold completes (and is recorded) before the payment transition around it.
    assert list(order.history.values_list("transition", flat=True)) == [
        "import",
        "hold",
        "refuse_payment",
    ]
    types = list(Event.objects.filter(order=order).order_by("id").values_list("type", flat=True))
    assert types == [ev.IMPORTED, ev.HELD, ev.PAYMENT_UPDATED]
    held = Event.objects.get(order=order, type=ev.HELD)
    assert held.payload["hold"]["reason"] == "payment_refused"
    order = order_transition(order=order, name="mark_paid", by=staff)
    types = list(Event.objects.filter(order=order).order_by("id").values_list("type", flat=True))
    assert types[-2:] == [ev.RELEASED, ev.PAYMENT_UPDATED]


def test_address_change_request_is_an_event_without_a_status_change(make_order, drive, manager):
    order = drive(make_order(), "labeled")
    history = order.history.count()
    order_request_address_change(order=order, by=manager, address={**US_ADDRESS, "city": "Boston"})
    event = Event.objects.get(order=order, type=ev.ADDRESS_CHANGE_REQUESTED)
    assert event.payload["address_change"]["requested"]["city"] == "Boston"
    assert order.history.count() == history


def test_record_event_in_a_rolled_back_transaction_leaves_nothing(merchant):
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(ev.IMPORT_FINISHED, merchant=merchant, data={"import": {}})
        raise RuntimeError
    assert not Event.objects.exists()


@pytest.mark.parametrize("number", ["A-1001", "#1001", "ORD 7.3", "Bestellung-ü", "50%", "a?b"])
def test_an_events_order_address_is_what_reverse_gives(number):
    from types import SimpleNamespace

    from django.urls import reverse

    from orders.events import order_url, site_url

    expected = site_url(reverse("order_detail", kwargs={"number": number}))
    assert order_url(SimpleNamespace(number=number)) == expected
