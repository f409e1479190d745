"""The kept status counts (orders.counts) always equal a fresh GROUP BY over the orders:
after long random walks through the transitions, after refused and rolled-back actions,
under concurrent transitions on PostgreSQL, and on the list the moment an order changes."""

import contextlib
import random
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count
from django_fsm import ConcurrentTransition

from orders import statuses as st
from orders.counts import add_counts, rebuild_status_counts, status_counts
from orders.models import Order, StatusCount
from orders.services import ActionRefused, order_transition

from .dashboard_helpers import login
from .test_order_list import tab_count


def fresh_counts(merchant):
    rows = (
        Order.objects.filter(merchant=merchant)
        .values_list("status", "hold_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(status, reason): n for status, reason, n in rows}


def params_for(name, rng, centers):
    if name == "accept":
        return {"center": rng.choice(centers)}
    if name == "hold":
        return {"reason": rng.choice(st.HOLD_REASONS).value}
    if name == "fail":
        return {"reason": "Artwork rejected"}
    if name == "hand_over":
        return {"carrier": "UPS", "tracking_number": f"1Z{rng.randrange(10**9)}"}
    if name == "refund":
        return {"amount": "5.00"}
    return {}


def available(order):
    names = [t.name for t in order.get_available_status_transitions()]
    names += [t.name for t in order.get_available_payment_status_transitions()]
    return sorted(set(names))


ENDINGS = {"cancel", "clean_sweep", "fail", "decline", "deliver", "return_to_sender"}


def random_step(rng, orders, centers):
    """One random transition (or a refused one) through the service, as a trusted system
    caller so every transition is reachable. Returns the order's id."""
    order = Order.objects.get(pk=rng.choice(orders))
    names = available(order)
    if not names:
        return order.pk
    # Ending transitions are taken less often, so the walk also travels the long paths.
    onward = [n for n in names if n not in ENDINGS]
    name = rng.choice(onward if onward and rng.random() < 0.85 else names)
    # Refused (no stock, a bad refund, changed meanwhile): nothing may be counted either.
    with contextlib.suppress(ActionRefused):
        order_transition(order=order, name=name, by="walk", params=params_for(name, rng, centers))
    return order.pk


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_match_group_by_after_a_random_walk(
    seed, merchant, other_merchant, make_order, centers
):
    rng = random.Random(seed)
    orders = []
    for i in range(8):
        target = merchant if i % 3 else other_merchant
        kind = rng.choice(["stock", "print", "embroidery"])
        orders.append(make_order(kind=kind, target_merchant=target, total=Decimal("40")).pk)
    orders.append(make_order(draft=True).pk)
    visited = set()
    for step in range(300):
        visited.add(Order.objects.get(pk=random_step(rng, orders, centers)).status)
        if step % 15 == 0:
            orders.append(make_order(target_merchant=rng.choice([merchant, other_merchant])).pk)
        if step % 50 == 0:
            for m in (merchant, other_merchant):
                assert status_counts(m) == fresh_counts(m), f"step {step}"
    for m in (merchant, other_merchant):
        assert status_counts(m) == fresh_counts(m)
    # The walk went somewhere: many states were visited, holds among them.
    assert len(visited) >= 8 and "action_required" in visited, visited


def test_a_refused_action_leaves_the_counts_alone(merchant, make_order, products, centers):
    from orders.models import InventoryLevel

    InventoryLevel.objects.filter(product=products["stock"]).update(on_hand=0)
    order = make_order()
    before = status_counts(merchant)
    with pytest.raises(ActionRefused):
        order_transition(order=order, name="accept", by="review", params={"center": centers[0]})
    assert status_counts(merchant) == before == fresh_counts(merchant)


def test_a_stale_instance_cannot_count_from_an_old_key(merchant, make_order, staff):
    order = make_order()
    stale = Order.objects.get(pk=order.pk)
    order_transition(order=order, name="hold", by=staff, params={"reason": "invalid_address"})
    stale.customer_name = "Changed on a stale copy"
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        stale.save()
    assert status_counts(merchant) == fresh_counts(merchant)
    assert status_counts(merchant) == {("action_required", "invalid_address"): 1}


def test_hold_reason_is_part_of_the_guard(merchant, make_order, staff):
    """Same status, other hold reason meanwhile (held, retried, held again): a save from
    the first copy must fail rather than count from its old reason."""
    order = order_transition(
        order=make_order(), name="hold", by=staff, params={"reason": "invalid_address"}
    )
    stale = Order.objects.get(pk=order.pk)
    order = order_transition(order=order, name="retry", by="walk")
    order_transition(order=order, name="hold", by=staff, params={"reason": "pending_approval"})
    stale.hold_note = "stale"
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        stale.save()
    assert status_counts(merchant) == {("action_required", "pending_approval"): 1}


def test_add_counts_and_rebuild(merchant, other_merchant, make_order):
    make_order()
    make_order(target_merchant=other_merchant)
    add_counts(merchant.pk, {("processing", ""): 3, ("import_review", ""): -1})
    assert status_counts(merchant) == {("processing", ""): 3}
    rebuild_status_counts(merchant)
    assert status_counts(merchant) == fresh_counts(merchant) == {("import_review", ""): 1}
    StatusCount.objects.all().delete()
    call_command("rebuild_status_counts", stdout=open("/dev/null", "w"))  # noqa: SIM115
    for m in (merchant, other_merchant):
        assert status_counts(m) == fresh_counts(m)


def test_the_tab_count_changes_the_moment_an_order_is_cancelled(client, manager, make_order):
    orders = [make_order() for _ in range(3)]
    login(client, manager)
    response = client.get("/orders/")
    assert tab_count(response, "Import Review") == 3
    assert tab_count(response, "Cancelled") == 0
    client.post(f"/orders/{orders[0].number}/cancel/", {"expected_status": "import_review"})
    assert Order.objects.get(pk=orders[0].pk).status == "cancelled"
    response = client.get("/orders/")
    assert tab_count(response, "Import Review") == 2
    assert tab_count(response, "Cancelled") == 1
    assert tab_count(response, "All") == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_transitions_keep_counts_exact(merchant, other_merchant, make_order, centers):
    """Threads on their own connections move the same few orders at once; whatever wins or
    loses, the kept counts equal the GROUP BY afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks; SQLite serialises writers")
    orders = [make_order(target_merchant=[merchant, other_merchant][i % 2]).pk for i in range(6)]
    start = threading.Barrier(4, timeout=20)
    errors = []

    def worker(seed):
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(40):
                random_step(rng, orders, centers)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    for m in (merchant, other_merchant):
        assert status_counts(m) == fresh_counts(m)
    assert sum(status_counts(merchant).values()) == 3
