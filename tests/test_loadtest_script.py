"""The load script's own check: a short run against the test server signs in, walks the
lists, searches, order pages and actions, and meets no error. Not a timing test: the
figures come from the documented run against gunicorn (loadtest/README.md)."""

import pytest
from django.db import connection

from loadtest.run import percentile, run_load
from orders.models import Order
from orders.services import order_transition

from .conftest import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_a_short_load_run_has_no_errors(live_server, make_order, manager, viewer, staff):
    for n in range(6):
        order = Order.objects.get(pk=make_order().pk)  # accepted by the inline review
        if n % 2:
            order_transition(order=order, name="start_pick", by=staff)
    # The test database on SQLite is in memory with a shared cache, where two writers at
    # once fail with "table is locked" instead of waiting: one worker there, two on PostgreSQL.
    workers = 2 if connection.vendor == "postgresql" else 1
    stats = run_load(
        live_server.url,
        duration=2,
        workers=workers,
        users=[manager.username, viewer.username],
        password=PASSWORD,
    )
    summary = stats.summary()
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["by_kind"]["login"]["requests"] == 2 * workers  # the page and the form
    assert summary["requests"] > 5
    assert "list" in summary["by_kind"]
    # The traffic's own latencies leave the sign-ins out.
    traffic = summary["traffic"]
    assert traffic["requests"] == summary["requests"] - summary["by_kind"]["login"]["requests"]
    assert traffic["p50_ms"] <= traffic["p99_ms"] <= traffic["max_ms"]


@pytest.mark.django_db(transaction=True)
def test_a_server_error_is_counted(live_server, make_order, manager, monkeypatch):
    """The zero above means something: a list that fails shows up as errors."""
    make_order()

    def broken(*args, **kwargs):
        raise RuntimeError("planted failure")

    monkeypatch.setattr("dashboard.views.listing._tabs", broken)
    stats = run_load(
        live_server.url, duration=1, workers=1, users=[manager.username], password=PASSWORD
    )
    summary = stats.summary()
    assert summary["errors"] > 0
    assert any("HTTP 500" in e for e in summary["error_samples"])


def test_percentiles_are_nearest_rank():
    values = [i / 1000 for i in range(1, 101)]
    assert [percentile(values, p) for p in (50, 90, 99)] == [0.05, 0.09, 0.099]
    assert percentile([0.2], 99) == 0.2
    assert percentile([], 50) == 0.0
