"""An import's review shared between processes (orders/review.py, REVIEW_PROCESSES): on
PostgreSQL a forked child reviews every other chunk. The outcome must be exactly that of one
process (statuses, history, stock, kept counts, the batch's progress), a child that dies
must leave nothing unreviewed, and where it cannot be done safely nothing is forked.

The stock a chunk takes is reserved at the end of its transaction without holding the levels
locked meanwhile, so a chunk that finds the units gone by then must roll back and review its
orders one by one, never reserving more than there is."""

import io
import os
import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, F, Sum
from django.test import override_settings
from django.urls import reverse

from orders import review
from orders.importing import import_orders
from orders.models import (
    ImportBatch,
    InventoryLevel,
    Order,
    OrderLine,
    StatusChange,
    StatusCount,
)
from orders.review import review_orders
from orders.tasks import reviews_deferred
from tests.conftest import PASSWORD
from tests.test_import import csv_text, upload_file
from tests.test_import_chunks import api_input

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="review processes are forked on PostgreSQL only"
)


@pytest.fixture
def forks(monkeypatch):
    """The forks this process made (each call returns in the parent with the child's pid)."""
    made = []
    real = os.fork

    def fork():
        pid = real()
        if pid:
            made.append(pid)
        return pid

    monkeypatch.setattr(review.os, "fork", fork)
    return made


def _import(merchant, count, prefix="R", **fields):
    inputs = [api_input(f"{prefix}-{i}", i, quantity=1 + i % 2, **fields) for i in range(count)]
    inputs[3] = api_input(f"{prefix}-3", 3, sku="NOPE")  # held: unknown SKU
    return _imported(merchant, inputs)


def _imported(merchant, inputs):
    """Import without the review task each order asks for after commit (these tests commit),
    as the batch runner does, so that review_orders finds them in Import Review."""
    with reviews_deferred():
        outcomes = import_orders(merchant=merchant, inputs=inputs, by="api: test")
    ids = [o.order.pk for o in outcomes]
    assert Order.objects.filter(pk__in=ids, status="import_review").count() == len(ids)
    return ids


def _kept_counts_are_exact(merchant):
    kept = {
        (s, r): n
        for s, r, n in StatusCount.objects.filter(merchant=merchant).values_list(
            "status", "hold_reason", "n"
        )
        if n
    }
    real = {
        (s, r): n
        for s, r, n in Order.objects.filter(merchant=merchant)
        .values_list("status", "hold_reason")
        .annotate(n=Count("id"))
        .order_by()
    }
    return kept == real


def _outcome(ids):
    return (
        sorted(Order.objects.filter(pk__in=ids).values_list("number", "status", "hold_reason")),
        sorted(
            StatusChange.objects.filter(
                order_id__in=ids, transition__in=["accept", "hold"]
            ).values_list("order__number", "transition")
        ),
    )


@postgresql_only
def test_two_processes_review_exactly_as_one(merchant, products, centers, forks):
    InventoryLevel.objects.update(on_hand=1000)
    ids = _import(merchant, 23)
    told = []
    done = review_orders(ids, chunk=4, processes=2, on_progress=told.append)
    assert len(forks) == 1
    assert done == 23 and sum(told) == 23 and len(told) == 6  # every chunk reported once
    statuses, history = _outcome(ids)
    assert [s for _n, s, _r in statuses].count("processing") == 22
    assert ("R-3", "action_required", "product_configuration") in statuses
    assert len(history) == 23  # one review transition per order, none twice
    assert _kept_counts_are_exact(merchant)
    reserved = InventoryLevel.objects.aggregate(n=Sum("reserved"))["n"]
    needed = OrderLine.objects.filter(order_id__in=ids, order__stock_reserved=True).aggregate(
        n=Sum("quantity")
    )["n"]
    assert reserved == needed == sum(1 + i % 2 for i in range(23) if i != 3)


@postgresql_only
def test_the_same_orders_reviewed_by_one_process_come_out_the_same(
    merchant, products, centers, forks
):
    InventoryLevel.objects.update(on_hand=1000)
    one = _import(merchant, 9, prefix="A")
    two = _import(merchant, 9, prefix="B")
    review_orders(one, chunk=2, processes=1)
    assert forks == []
    review_orders(two, chunk=2, processes=2)
    assert len(forks) == 1
    rename = {"A": "B"}
    first, first_history = _outcome(one)
    second, second_history = _outcome(two)
    assert [(rename[n[0]] + n[1:], s, r) for n, s, r in first] == second
    assert [(rename[n[0]] + n[1:], t) for n, t in first_history] == second_history


@postgresql_only
def test_a_child_that_dies_leaves_its_orders_to_the_parent(
    merchant, products, centers, forks, monkeypatch
):
    parent = os.getpid()
    real = review._review_chunk

    def dies_in_the_child(order_ids, cache):
        if os.getpid() != parent:
            os._exit(3)
        return real(order_ids, cache)

    monkeypatch.setattr(review, "_review_chunk", dies_in_the_child)
    ids = _import(merchant, 10)
    assert review_orders(ids, chunk=2, processes=2) == 10
    assert len(forks) == 1
    assert not Order.objects.filter(pk__in=ids, status="import_review").exists()
    assert len(_outcome(ids)[1]) == 10
    assert _kept_counts_are_exact(merchant)


@postgresql_only
def test_a_child_that_fails_after_some_chunks_is_not_reviewed_twice(
    merchant, products, centers, forks, monkeypatch
):
    parent = os.getpid()
    real = review._review_chunk
    seen = []

    def fails_on_its_second_chunk(order_ids, cache):
        if os.getpid() != parent:
            seen.append(1)
            if len(seen) == 2:
                os._exit(3)
        return real(order_ids, cache)

    monkeypatch.setattr(review, "_review_chunk", fails_on_its_second_chunk)
    InventoryLevel.objects.update(on_hand=1000)
    ids = _import(merchant, 12)
    review_orders(ids, chunk=2, processes=2)
    assert len(_outcome(ids)[1]) == 12  # one review each: the child's first chunk kept
    assert _kept_counts_are_exact(merchant)


def test_nothing_is_forked_inside_a_transaction_or_off_postgresql(
    merchant, products, centers, forks
):
    ids = _import(merchant, 8)
    with transaction.atomic():
        review_orders(ids, chunk=2, processes=2)
    assert forks == []
    assert not Order.objects.filter(pk__in=ids, status="import_review").exists()
    ids = _import(merchant, 8, prefix="S")
    review_orders(ids, chunk=2, processes=2)
    assert len(forks) == (1 if connection.vendor == "postgresql" else 0)


@postgresql_only
def test_stock_taken_while_a_chunk_works_sends_it_one_by_one(
    merchant, products, centers, monkeypatch
):
    """Another writer reserves units (and commits) after the chunk read the levels and
    before it reserves: the chunk's reservation fails, it rolls back, and one by one its
    orders take only what is left."""
    stock = products["stock"]
    InventoryLevel.objects.filter(product=stock).update(on_hand=3, reserved=0)
    real = review._StockBook.__init__

    def elsewhere():
        try:
            InventoryLevel.objects.filter(product=stock).update(reserved=F("reserved") + 2)
        finally:
            connection.close()

    def meanwhile(self, product_ids):
        real(self, product_ids)
        other = threading.Thread(target=elsewhere)
        other.start()
        other.join(30)

    monkeypatch.setattr(review._StockBook, "__init__", meanwhile)
    inputs = [api_input(f"T-{i}", i, quantity=2) for i in range(2)]
    ids = _imported(merchant, inputs)
    review_orders(ids, chunk=2, processes=1)
    for level in InventoryLevel.objects.filter(product=stock):
        assert (level.on_hand, level.reserved) == (3, 2)
    statuses = dict(Order.objects.filter(pk__in=ids).values_list("number", "hold_reason"))
    assert statuses == {"T-0": "insufficient_inventory", "T-1": "insufficient_inventory"}
    assert _kept_counts_are_exact(merchant)


@postgresql_only
@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}})
def test_the_task_worker_shares_an_uploaded_batch_review(
    client, manager, merchant, products, centers, forks
):
    """End to end: an upload queued for the worker, which runs the batch on its main
    thread outside a transaction, so its review is shared with a forked process."""
    InventoryLevel.objects.update(on_hand=1000)
    client.login(username=manager.username, password=PASSWORD)
    rows = [{"order_number": f"W-{n}"} for n in range(450)]  # three chunks of review
    client.post(reverse("imports"), {"file": upload_file(csv_text(*rows))})
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO())
    batch = ImportBatch.objects.get()
    assert (batch.state, batch.created) == ("done", 450)
    assert batch.orders_reviewed == batch.orders_to_review == 450
    assert len(forks) == 1
    assert Order.objects.filter(merchant=merchant, status="processing").count() == 450
    assert _kept_counts_are_exact(merchant)
