"""Nothing is lost: orders are never hard-deleted (not through the ORM, the admin, the
dashboard or the API), history rows are append-only, and an import that fails in the middle
of an order leaves nothing of that order while the other orders import."""

import pytest
from django.contrib import admin
from django.db import models
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver

from orders import services
from orders.importing import create_batch, import_orders, parse_api_order, run_batch
from orders.integrity import HistoryIsAppendOnly, OrderNotDeletable
from orders.models import ImportBatch, Merchant, Order, OrderLine, StatusChange
from orders.services import order_cancel
from orders.tokens import token_create

from .conftest import US_ADDRESS
from .dashboard_helpers import login

# --- orders are never deleted --------------------------------------------------------------


def test_deleting_an_order_raises_a_clear_error(make_order):
    order = make_order()
    with pytest.raises(OrderNotDeletable, match="cancel or clean sweep"):
        order.delete()
    assert Order.objects.filter(pk=order.pk).exists()


@pytest.mark.parametrize(
    "queryset",
    [
        lambda: Order.objects.all(),
        lambda: Order.objects.filter(status="import_review"),
        lambda: Order.objects.visible().for_merchant(Merchant.objects.get()),
    ],
)
def test_deleting_orders_through_a_queryset_raises(make_order, queryset):
    make_order(), make_order()
    with pytest.raises(OrderNotDeletable):
        queryset().delete()
    assert Order.objects.count() == 2
    assert OrderLine.objects.count() == 2 and StatusChange.objects.count() == 2


def test_a_merchant_with_orders_cannot_be_deleted(merchant, make_order):
    make_order()
    with pytest.raises(models.ProtectedError):
        merchant.delete()
    assert Order.objects.count() == 1


def test_the_admin_explains_why_a_merchant_with_orders_cannot_be_deleted(
    client, staff, merchant, make_order
):
    make_order(number="P-1")
    client.force_login(staff)
    page = client.get(f"/admin/orders/merchant/{merchant.pk}/delete/")
    assert page.status_code == 200
    assert "Cannot delete merchant" in page.text
    client.post(f"/admin/orders/merchant/{merchant.pk}/delete/", {"post": "yes"})
    assert Merchant.objects.filter(pk=merchant.pk).exists()


def test_a_merchant_without_orders_can_still_be_deleted(other_merchant, outsider):
    """The guards are on orders only; cascades elsewhere work as before."""
    other_merchant.delete()
    assert not Merchant.objects.filter(slug="globex").exists()


@pytest.mark.django_db(transaction=True)
def test_test_database_teardown_still_works_with_orders(make_order, manager):
    # A flushed (not rolled back) test: the flush after it must empty the tables anyway.
    order = Order.objects.get(pk=make_order().pk)  # review already ran at commit
    order_cancel(order=order, by=manager)
    assert Order.objects.count() == 1


def test_the_admin_cannot_delete_orders(staff, make_order):
    request = RequestFactory().get("/admin/")
    request.user = staff
    order_admin = admin.site._registry[Order]
    assert not order_admin.has_delete_permission(request)
    assert not order_admin.has_delete_permission(request, make_order())
    assert "delete_selected" not in order_admin.get_actions(request)


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith("admin/"):
                continue  # the admin's permissions are checked above
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _url(route, number):
    route = route.lstrip("^").rstrip("$")
    route = route.replace("<number:number>", number).replace("<int:pk>", "1")
    return "/" + route.replace("/?", "/").replace("\\", "")


def test_no_dashboard_or_api_url_deletes_an_order(client, manager, merchant, make_order):
    order = make_order(number="K-1")
    _token, raw = token_create(merchant=merchant, name="Shop")
    login(client, manager)
    api = Client()
    routes = list(_routes(get_resolver().url_patterns))
    assert len(routes) > 15
    deleting = [r for r, p in routes if "delete" in (p.name or "") or "delete" in r]
    # Removing a webhook endpoint (a merchant's setting, issue 13) touches no order.
    assert not [r for r in deleting if r != "settings/webhooks/<int:pk>/delete/"]
    for route, _pattern in routes:
        url = _url(route, order.number)
        for caller, headers in ((client, {}), (api, {"Authorization": f"Bearer {raw}"})):
            response = caller.delete(url, headers=headers)
            assert response.status_code != 500, url
    kept = Order.objects.get(pk=order.pk)
    assert (kept.status, kept.lines.count(), kept.history.count()) == ("import_review", 1, 1)


# --- history is append-only ----------------------------------------------------------------


def test_history_rows_cannot_be_changed(make_order):
    row = StatusChange.objects.get(order=make_order())
    row.reason = "tampered"
    with pytest.raises(HistoryIsAppendOnly, match="append-only"):
        row.save()
    assert StatusChange.objects.get(pk=row.pk).reason == ""


def test_history_rows_cannot_be_deleted(make_order):
    row = StatusChange.objects.get(order=make_order())
    with pytest.raises(HistoryIsAppendOnly):
        row.delete()
    with pytest.raises(HistoryIsAppendOnly):
        StatusChange.objects.filter(pk=row.pk).delete()
    assert StatusChange.objects.filter(pk=row.pk).exists()


def test_transitions_still_append_history(make_order, drive):
    order = drive(make_order(), "picked")
    assert list(order.history.values_list("target", flat=True)) == [
        "import_review",
        "processing",
        "pick_in_process",
        "picked",
    ]


def test_admin_shows_history_read_only(staff, make_order):
    request = RequestFactory().get("/admin/")
    request.user = staff
    history_admin = admin.site._registry[StatusChange]
    assert not history_admin.has_add_permission(request)
    assert not history_admin.has_change_permission(request)
    assert not history_admin.has_delete_permission(request)
    order_admin = admin.site._registry[Order]
    inline = next(
        i
        for i in order_admin.get_inline_instances(request, make_order())
        if i.model is StatusChange
    )
    assert not inline.has_add_permission(request, None)
    assert not inline.has_change_permission(request)
    assert not inline.can_delete


# --- a failed import leaves no half order --------------------------------------------------


class LineFailure:
    """Stands in for the writer of imported order lines (orders.bulkinsert.insert_rows, as
    orders/services.py calls it): when order BAD's lines are written (alone, or inside a
    chunk of orders) everything up to BAD's first line is really inserted, then its second
    line fails (a real database error, or a crash in Python). Other rows pass through."""

    def __init__(self, kind):
        self.kind = kind
        self.real = services.insert_rows
        self.failed = 0

    def install(self, monkeypatch):
        monkeypatch.setattr(services, "insert_rows", self)
        return self

    def __call__(self, objs, *args, **kwargs):
        objs = list(objs)
        if not all(isinstance(obj, OrderLine) for obj in objs):
            return self.real(objs, *args, **kwargs)
        bad = [i for i, line in enumerate(objs) if line.order.number == "BAD"]
        if len(bad) >= 2:
            self.failed += 1
            self.real(objs[: bad[1]])
            assert OrderLine.objects.filter(order__number="BAD").count() == 1
            if self.kind == "database":
                objs[bad[1]].quantity = -1  # refused by the column's check constraint
                return self.real(objs[bad[1] :])
            raise RuntimeError("worker crashed in the middle of the order")
        return self.real(objs, *args, **kwargs)


def api_order(number, skus=("TEE-1",)):
    return {"number": number, **US_ADDRESS, "lines": [{"sku": s, "quantity": 1} for s in skus]}


def assert_nothing_of_bad_left():
    assert not Order.objects.filter(number="BAD").exists()
    assert not OrderLine.objects.filter(order__number="BAD").exists()
    assert not StatusChange.objects.filter(order__number="BAD").exists()
    # No line without its order either (the good orders have one line each).
    assert OrderLine.objects.count() == Order.objects.count()


@pytest.mark.parametrize("kind", ["database", "crash"])
def test_failure_in_the_middle_of_an_order_leaves_nothing_of_it(
    merchant, products, monkeypatch, kind
):
    failure = LineFailure(kind).install(monkeypatch)
    inputs = [
        parse_api_order(api_order("GOOD-1"), 1),
        parse_api_order(api_order("BAD", skus=("TEE-1", "POSTER-1")), 2),
        parse_api_order(api_order("GOOD-2"), 3),
    ]
    outcomes = import_orders(merchant=merchant, inputs=inputs, by="test")
    # Once in the chunk of all three orders, once when BAD is retried on its own.
    assert failure.failed == 2
    assert [(o.number, o.outcome) for o in outcomes] == [
        ("GOOD-1", "created"),
        ("BAD", "error"),
        ("GOOD-2", "created"),
    ]
    assert "nothing of it was imported" in outcomes[1].message
    assert_nothing_of_bad_left()
    assert set(Order.objects.values_list("number", flat=True)) == {"GOOD-1", "GOOD-2"}


def test_a_csv_batch_reports_the_failed_order_and_imports_the_rest(
    merchant, products, centers, monkeypatch
):
    LineFailure("database").install(monkeypatch)
    text = (
        "order_number,sku,quantity,country\n"
        "GOOD-1,TEE-1,1,US\n"
        "BAD,TEE-1,1,US\n"
        "BAD,POSTER-1,1,US\n"
        "GOOD-2,TEE-1,1,US\n"
    )
    batch = create_batch(merchant=merchant, content=text, filename="orders.csv")
    run_batch(batch.pk)
    batch = ImportBatch.objects.get(pk=batch.pk)
    assert (batch.state, batch.created, batch.errors) == ("done", 2, 1)
    row = batch.rows.get(number="BAD")
    assert row.outcome == "error" and "nothing of it was imported" in row.message
    assert_nothing_of_bad_left()


def test_an_order_imported_again_after_a_failure_goes_through(merchant, products, monkeypatch):
    LineFailure("crash").install(monkeypatch)
    bad = api_order("BAD", skus=("TEE-1", "POSTER-1"))
    import_orders(merchant=merchant, inputs=[parse_api_order(bad)], by="test")
    monkeypatch.undo()
    outcomes = import_orders(merchant=merchant, inputs=[parse_api_order(bad)], by="test")
    assert outcomes[0].outcome == "created"  # not "already imported": nothing was left
    assert Order.objects.get(number="BAD").lines.count() == 2


def test_integrity_error_from_a_real_duplicate_is_still_reported_as_skipped(
    merchant, products, monkeypatch
):
    """The race path (someone imported the same number meanwhile) keeps its own answer."""
    import_orders(merchant=merchant, inputs=[parse_api_order(api_order("DUP"))], by="test")
    from orders.importing import importer

    monkeypatch.setattr(importer, "_existing_orders", lambda merchant, numbers: {})
    outcomes = import_orders(
        merchant=merchant, inputs=[parse_api_order(api_order("DUP"))], by="test"
    )
    assert [(o.number, o.outcome) for o in outcomes] == [("DUP", "skipped")]
    assert Order.objects.filter(number="DUP").count() == 1
