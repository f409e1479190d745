"""Reads whose SQL is built once (orders/prepared.py) answer exactly what the ORM answers:
for each new value, with the ORM's conversions, per database connection, and through the
ORM itself where a shape cannot be prepared."""

import datetime

import pytest
from django.db import connection, connections
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from orders.models import FulfillmentCenter, ListPreference, Merchant, SavedView
from orders.prepared import Prepared

pytestmark = pytest.mark.django_db


def test_each_call_runs_the_built_sql_with_its_own_values(merchant, other_merchant, monkeypatch):
    names = Prepared(
        Merchant, lambda pk: Merchant.objects.filter(pk=pk).values_list("name", flat=True), int
    )
    assert names(merchant.pk) == [merchant.name]
    assert names(other_merchant.pk) == [other_merchant.name]
    assert names(-1) == []
    # The SQL was built once: later calls run without the ORM's compiler, one query each.
    built = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda *a, **k: built.append(1) or original(*a, **k))
    with CaptureQueriesContext(connection) as seen:
        assert names(other_merchant.pk) == [other_merchant.name]
        assert names(merchant.pk) == [merchant.name]
    assert built == []
    assert len(seen.captured_queries) == 2


def test_rows_are_converted_as_the_orm_converts_them(manager, merchant):
    ListPreference.objects.create(user=manager, columns=["total", "items"])
    SavedView.objects.create(merchant=merchant, owner=manager, name="EU", query="q=x", shared=True)
    columns = Prepared(
        ListPreference,
        lambda user_id: ListPreference.objects.filter(user_id=user_id).values_list("columns"),
        int,
    )
    views = Prepared(
        SavedView,
        lambda merchant_id: SavedView.objects.filter(merchant_id=merchant_id).values_list(
            "name", "shared", "created_at"
        ),
        int,
    )
    assert columns(manager.pk) == list(
        ListPreference.objects.filter(user=manager).values_list("columns")
    )
    assert columns(manager.pk) == [(["total", "items"],)]  # JSON decoded
    (row,) = views(merchant.pk)
    assert (
        row
        == SavedView.objects.filter(merchant=merchant)
        .values_list("name", "shared", "created_at")
        .get()
    )
    assert row[1] is True  # a boolean, not SQLite's 1
    assert isinstance(row[2], datetime.datetime) and row[2].tzinfo is not None


def test_objects_are_model_instances_from_the_database(centers):
    every = Prepared(FulfillmentCenter, lambda: FulfillmentCenter.objects.all(), objects=True)
    found = every()
    assert [c.pk for c in found] == [c.pk for c in FulfillmentCenter.objects.all()]
    first = found[0]
    assert isinstance(first, FulfillmentCenter)
    assert not first._state.adding and first._state.db == "default"
    assert first.daily_cutoff == FulfillmentCenter.objects.get(pk=first.pk).daily_cutoff


def test_a_text_argument_that_becomes_a_pattern_is_not_prepared(merchant, other_merchant):
    # icontains turns the text into '%text%': the stand-in is not a parameter of its own,
    # so every call goes through the ORM, and still answers right.
    like = Prepared(
        Merchant,
        lambda text: Merchant.objects.filter(name__icontains=text).values_list("pk", flat=True),
        str,
    )
    assert like(merchant.name[1:4]) == list(
        Merchant.objects.filter(name__icontains=merchant.name[1:4]).values_list("pk", flat=True)
    )
    assert like(other_merchant.name) == [other_merchant.pk]
    assert like._compiled == {("default", ()): None}


def test_only_values_list_querysets_and_plain_arguments_are_accepted(merchant):
    whole = Prepared(Merchant, lambda pk: Merchant.objects.filter(pk=pk), int)
    # A queryset of instances without objects=True is read through the ORM every time.
    assert [m.pk for m in whole(merchant.pk)] == [merchant.pk]
    assert whole._compiled == {("default", ()): None}
    dated = Prepared(
        Merchant, lambda when: Merchant.objects.filter(created_at__lt=when), datetime.date
    )
    with pytest.raises(TypeError):
        dated(datetime.date.today())


def test_a_datetime_argument_is_compared_as_the_orm_compares_it(merchant, other_merchant):
    """Aware datetimes go to the database as the connection adapts them (a text in UTC on
    SQLite): the prepared read finds what the ORM finds, on both sides of a moment."""
    Merchant.objects.filter(pk=other_merchant.pk).update(
        created_at=merchant.created_at + datetime.timedelta(minutes=5)
    )
    before = Prepared(
        Merchant,
        lambda when: (
            Merchant.objects.filter(created_at__lt=when).order_by("pk").values_list("pk", flat=True)
        ),
        datetime.datetime,
    )
    berlin = datetime.timezone(datetime.timedelta(hours=1))
    for when in (
        merchant.created_at,
        merchant.created_at + datetime.timedelta(minutes=1),
        (merchant.created_at + datetime.timedelta(minutes=10)).astimezone(berlin),
    ):
        orm = list(
            Merchant.objects.filter(created_at__lt=when).order_by("pk").values_list("pk", flat=True)
        )
        assert before(when) == orm
    assert list(before._compiled.values()) != [None]  # it was prepared, not read by the ORM
    # A moment computed from the argument (not the argument itself) is never prepared.
    shifted = Prepared(
        Merchant,
        lambda when: Merchant.objects.filter(
            created_at__lt=when - datetime.timedelta(minutes=2)
        ).values_list("pk", flat=True),
        datetime.datetime,
    )
    assert shifted(merchant.created_at + datetime.timedelta(minutes=1)) == []
    assert list(shifted._compiled.values()) == [None]


def test_a_list_argument_gets_a_statement_per_length(merchant, other_merchant):
    names = Prepared(
        Merchant,
        lambda pks: Merchant.objects.filter(pk__in=pks).order_by("pk").values_list("name"),
        list,
    )
    both = [merchant.pk, other_merchant.pk]
    assert names(both) == [(merchant.name,), (other_merchant.name,)]
    assert names([other_merchant.pk, -5]) == [(other_merchant.name,)]
    assert names([merchant.pk]) == [(merchant.name,)]
    assert names([]) == []  # through the ORM: an empty IN matches nothing
    assert set(names._compiled) == {("default", (2,)), ("default", (1,))}


def test_threads_share_one_statement_per_database(merchant):
    """A server that starts a thread (and a connection) per request keeps one entry."""
    import threading

    names = Prepared(
        Merchant, lambda pk: Merchant.objects.filter(pk=pk).values_list("name", flat=True), int
    )
    found = []

    def ask():
        found.append(names(merchant.pk))
        connections.close_all()

    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        ask()  # an in-memory test database is seen by this thread only
    else:
        for _ in range(3):
            thread = threading.Thread(target=ask)
            thread.start()
            thread.join()
    assert names(merchant.pk) == [merchant.name]
    assert set(names._compiled) == {("default", ())}


def test_kept_related_objects_are_what_all_returns_without_a_query(make_order):
    from orders.models import Order, OrderLine
    from orders.prepared import keep_related

    order = Order.objects.get(pk=make_order(quantity=2).pk)
    lines = Prepared(
        OrderLine, lambda pk: OrderLine.objects.filter(order_id=pk), int, objects=True
    )(order.pk)
    assert lines
    keep_related(order, "lines", lines)
    with CaptureQueriesContext(connection) as seen:
        assert list(order.lines.all()) == lines
        assert all(line.order is order for line in order.lines.all())
    assert seen.captured_queries == []
