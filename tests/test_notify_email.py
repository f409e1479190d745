"""E-mail about events: per member and event type (immediately, daily digest, never; managers
get holds, delivery exceptions, returns and finished imports at once by default), plain text
and HTML, and a burst summarised in one message."""

import datetime

import time_machine
from django.core import mail
from django.utils import timezone

from orders import events as ev
from orders.effects import record_event
from orders.notify import dispatch_events, send_digests, set_email_choices
from orders.services import order_transition
from tests.test_import import csv_text, run


def hold(order, staff, reason="invalid_address", note="ZIP 1 is not a US ZIP code"):
    return order_transition(
        order=order, name="hold", by=staff, params={"reason": reason, "note": note}
    )


def test_a_manager_is_emailed_a_hold_at_once_with_why_what_to_do_and_the_link(
    make_order, staff, manager, viewer
):
    order = hold(make_order(), staff)
    dispatch_events()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [manager.email]  # the viewer's default is never
    assert order.number in message.subject and "Invalid address" in message.subject
    assert "Why: ZIP 1 is not a US ZIP code" in message.body
    assert "What you can do: Edit the address" in message.body
    assert f"/orders/{order.number}/" in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html" and f"/orders/{order.number}/" in html
    dispatch_events()
    assert len(mail.outbox) == 1  # each event is e-mailed once


def test_a_burst_is_one_email_that_summarises(make_order, staff, manager):
    for _ in range(5):
        hold(make_order(), staff)
    dispatch_events()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("5 updates")
    assert "5 x An order is on hold" in mail.outbox[0].body


def test_an_import_that_holds_many_orders_sends_one_email_when_it_finishes(
    merchant, products, centers, manager
):
    rows = [{"order_number": f"H-{i}", "postal_code": ""} for i in range(30)]
    batch = run(merchant, csv_text(*rows))
    assert batch.state == "done"
    dispatch_events()
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "30 x An order is on hold" in body
    assert "1 x An import finished" in body


def test_an_unfinished_imports_events_wait_for_it(merchant, products, make_order, staff, manager):
    from orders.effects import for_batch
    from orders.importing import create_batch

    batch = create_batch(merchant=merchant, content=csv_text({"order_number": "W-1"}))
    with for_batch(batch):
        hold(make_order(), staff)
    dispatch_events()
    assert mail.outbox == []


def test_viewers_and_never_get_nothing_unless_they_choose(
    make_order, staff, manager, viewer, merchant
):
    set_email_choices(manager, merchant, {ev.HELD: "never"})
    set_email_choices(viewer, merchant, {ev.HELD: "immediately"})
    hold(make_order(), staff)
    dispatch_events()
    assert [m.to for m in mail.outbox] == [[viewer.email]]


def test_the_daily_digest_batches_a_days_events_in_one_email(
    make_order, drive, staff, viewer, merchant
):
    set_email_choices(viewer, merchant, {ev.SHIPPED: "digest", ev.HELD: "digest"})
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            drive(make_order(), "shipped")
        hold(make_order(), staff)
        dispatch_events()
    assert [m.to for m in mail.outbox if viewer.email in m.to] == []
    assert send_digests(now=start + datetime.timedelta(minutes=5)) == 1
    digest = [m for m in mail.outbox if m.to == [viewer.email]]
    assert len(digest) == 1
    assert digest[0].subject.startswith("Your daily summary: 4 updates")
    assert "3 x An order was handed to the carrier" in digest[0].body
    assert "1 x An order is on hold" in digest[0].body
    # Not again the same day, and the next day only what is new.
    assert send_digests(now=start + datetime.timedelta(hours=2)) == 0
    with time_machine.travel(start + datetime.timedelta(hours=3), tick=False):
        record_event(ev.SHIPPED, merchant=merchant, data={"number": "N-1"})
    assert send_digests(now=start + datetime.timedelta(hours=25)) == 1
    latest = [m for m in mail.outbox if m.to == [viewer.email]][-1]
    assert latest.subject.startswith("Your daily summary: 1 update for")
