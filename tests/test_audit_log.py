"""The audit log: every attempt to change orders from the dashboard, the admin or the API is
kept as an AuditEntry (user, merchant, action, order numbers, done or refused and why, client
IP, path) and logged on "orders.audit"; machines leave only their history; entries are
read-only."""

import json
import logging
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from dashboard.security import client_ip
from dashboard.views import bulk
from orders import audit
from orders.integrity import HistoryIsAppendOnly
from orders.models import AuditEntry, Order, StatusChange
from orders.services import order_cancel
from orders.tokens import token_create

from .conftest import PASSWORD, US_ADDRESS
from .dashboard_helpers import hold, login

IP = "203.0.113.9"


@pytest.fixture
def as_manager(client, manager):
    login(client, manager)
    return client


def post(client, url, data=None, **extra):
    return client.post(url, data or {}, REMOTE_ADDR=IP, **extra)


def only_entry(**filters):
    entries = list(AuditEntry.objects.filter(**filters))
    assert len(entries) == 1, entries
    return entries[0]


# --- dashboard actions ---------------------------------------------------------------------


def test_cancel_is_recorded_with_user_merchant_order_ip_and_path(
    as_manager, manager, merchant, make_order, caplog
):
    order = make_order(number="A-1")
    with caplog.at_level(logging.INFO, logger="orders.audit"):
        response = post(as_manager, reverse("order_cancel", args=["A-1"]))
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    entry = only_entry(action="cancel")
    assert (entry.user, entry.actor, entry.merchant) == (manager, "alice", merchant)
    assert (entry.numbers, entry.outcome, entry.reason) == ("A-1", "done", "")
    assert (entry.ip, entry.path) == (IP, "/orders/A-1/cancel/")
    logged = [r.getMessage() for r in caplog.records if r.name == "orders.audit"]
    assert len(logged) == 1
    assert "action=cancel outcome=done actor=alice" in logged[0]
    assert "orders=A-1" in logged[0] and f"ip={IP}" in logged[0]


def test_refused_cancel_is_recorded_with_the_reason(as_manager, make_order, drive, caplog):
    order = drive(make_order(number="A-2"), "labeled")
    with caplog.at_level(logging.INFO, logger="orders.audit"):
        post(as_manager, reverse("order_cancel", args=["A-2"]))
    assert Order.objects.get(pk=order.pk).status == "labeled"
    entry = only_entry(action="cancel")
    assert entry.outcome == "refused"
    assert "already packed and labelled" in entry.reason
    assert entry.numbers == "A-2" and entry.ip == IP
    assert any(r.levelno == logging.WARNING for r in caplog.records if r.name == "orders.audit")


def test_changed_meanwhile_is_recorded_as_refused(as_manager, make_order, staff):
    make_order(number="A-3")
    hold(Order.objects.get(number="A-3"), staff)
    post(as_manager, reverse("order_cancel", args=["A-3"]), {"expected_status": "import_review"})
    entry = only_entry(action="cancel")
    assert entry.outcome == "refused" and "changed meanwhile" in entry.reason


def test_viewer_attempt_is_recorded_as_refused(client, viewer, merchant, make_order):
    order = make_order(number="A-4")
    login(client, viewer)
    assert post(client, reverse("order_cancel", args=["A-4"])).status_code == 403
    assert Order.objects.get(pk=order.pk).status == "import_review"
    entry = only_entry()
    assert (entry.action, entry.outcome, entry.user, entry.merchant) == (
        "cancel",
        "refused",
        viewer,
        merchant,
    )
    assert entry.numbers == "A-4" and "Only a manager" in entry.reason


def test_viewing_the_confirmation_is_not_an_attempt(as_manager, make_order):
    make_order(number="A-5")
    as_manager.get(reverse("order_cancel", args=["A-5"]))
    assert not AuditEntry.objects.exists()


def test_clean_sweep_and_retry_are_recorded(as_manager, make_order, staff):
    make_order(number="A-6")
    post(as_manager, reverse("order_clean_sweep", args=["A-6"]))
    held = hold(make_order(number="A-7"), staff, reason="insufficient_inventory")
    post(as_manager, reverse("order_retry", args=[held.number]))
    assert only_entry(action="clean_sweep").numbers == "A-6"
    assert only_entry(action="retry").outcome == "done"


def test_address_edit_and_request_are_recorded(as_manager, make_order, drive):
    make_order(number="A-8")
    new = {**US_ADDRESS, "address2": "", "city": "Boston", "region": "MA", "postal_code": "02110"}
    post(as_manager, reverse("order_address", args=["A-8"]), new)
    labelled = drive(make_order(number="A-9"), "labeled")
    post(as_manager, reverse("order_address", args=[labelled.number]), {**new, "note": "moved"})
    assert only_entry(action="address_edit").outcome == "done"
    assert only_entry(action="address_request").numbers == "A-9"


def test_bad_address_is_recorded_as_refused_with_the_errors(as_manager, make_order):
    make_order(number="A-10")
    bad = {**US_ADDRESS, "address2": "", "postal_code": "ABC"}
    post(as_manager, reverse("order_address", args=["A-10"]), bad)
    entry = only_entry(action="address_edit")
    assert entry.outcome == "refused" and "postal_code" in entry.reason


def test_bulk_action_records_each_order(as_manager, make_order, drive):
    ok = make_order(number="B-1")
    late = drive(make_order(number="B-2"), "labeled")
    response = post(
        as_manager,
        reverse("bulk_action"),
        {"action": "cancel", "scope": "selected", "selected": [ok.pk, late.pk], "confirmed": "1"},
    )
    assert response.status_code == 200
    entries = {e.numbers: e for e in AuditEntry.objects.filter(action="cancel")}
    assert entries["B-1"].outcome == "done"
    assert entries["B-2"].outcome == "refused" and "labelled" in entries["B-2"].reason
    assert {e.path for e in entries.values()} == {reverse("bulk_action")}


def test_bulk_action_refused_as_a_whole_is_recorded(as_manager, make_order, monkeypatch):
    monkeypatch.setattr(bulk, "BULK_LIMIT", 1)
    orders = [make_order(), make_order()]
    post(
        as_manager,
        reverse("bulk_action"),
        {"action": "clean_sweep", "scope": "selected", "selected": [o.pk for o in orders]},
    )
    entry = only_entry(action="bulk_clean_sweep")
    assert entry.outcome == "refused" and "2 orders match" in entry.reason


def test_a_change_is_never_kept_without_its_entry(as_manager, make_order):
    """The done entry is written in the change's own transaction."""
    order = make_order(number="A-11")
    with (
        mock.patch.object(audit, "record", side_effect=RuntimeError("audit store down")),
        pytest.raises(RuntimeError),
    ):
        as_manager.post(reverse("order_cancel", args=["A-11"]))
    assert Order.objects.get(pk=order.pk).status == "import_review"
    assert not StatusChange.objects.filter(order=order, transition="cancel").exists()


# --- imports and the API -------------------------------------------------------------------


def test_csv_upload_records_the_upload_and_each_order_with_the_uploaders_ip(
    as_manager, manager, merchant, products, django_capture_on_commit_callbacks
):
    text = (
        "order_number,sku,quantity,country\n"
        "U-1,TEE-1,1,US\n"
        "U-2,TEE-1,0,US\n"  # quantity 0: a row error
    )
    upload = SimpleUploadedFile("orders.csv", text.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(as_manager, reverse("imports"), {"file": upload})
    assert response.status_code == 302
    uploaded = only_entry(action="import_upload")
    batch_id = uploaded.detail["batch"]
    assert (uploaded.user, uploaded.ip, uploaded.path) == (manager, IP, "/imports/")
    created = only_entry(action="import", numbers="U-1")
    assert (created.outcome, created.user, created.ip) == ("done", manager, IP)
    assert created.path == f"/imports/ (batch {batch_id})"
    error = only_entry(action="import", numbers="U-2")
    assert error.outcome == "refused" and "quantity" in error.reason


def test_order_entered_by_hand_is_recorded(as_manager, products, centers):
    data = {
        "number": "M-1",
        "customer_name": "Ava Smith",
        **US_ADDRESS,
        "ship_option": "Standard",
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "0",
        "form-0-product": products["stock"].pk,
        "form-0-quantity": "1",
    }
    post(as_manager, reverse("new_order"), data)
    assert Order.objects.filter(number="M-1").exists()
    entry = only_entry(action="import")
    assert (entry.numbers, entry.outcome, entry.path) == ("M-1", "done", "/new-order/")


@pytest.fixture
def api_token(merchant):
    return token_create(merchant=merchant, name="Shop")


def api_post(url, data, raw):
    return Client().post(
        url,
        data=json.dumps(data),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
        REMOTE_ADDR=IP,
    )


def test_api_create_and_refusal_are_recorded_with_the_token(api_token, merchant, products):
    token, raw = api_token
    order = {
        "number": "API-1",
        "lines": [{"sku": "TEE-1", "quantity": 1, "unit_price": "9.99"}],
        **US_ADDRESS,
    }
    assert api_post("/api/v1/orders", order, raw).status_code == 201
    assert api_post("/api/v1/orders", order, raw).status_code == 409
    done, refused = AuditEntry.objects.filter(action="import").order_by("id")
    for entry in (done, refused):
        assert (entry.user, entry.actor, entry.merchant) == (None, "api: Shop", merchant)
        assert (entry.numbers, entry.ip, entry.path) == ("API-1", IP, "/api/v1/orders")
        assert entry.detail == {"token": token.prefix}
    assert done.outcome == "done"
    assert refused.outcome == "refused" and refused.reason == "already imported"


def test_refused_unstorable_number_is_recorded_with_a_replacement_character(api_token, products):
    """A number the database cannot store (a lone surrogate, a NUL) is refused, and the
    refusal is still recorded: the audit entry keeps what it can."""
    _token, raw = api_token
    body = '{"number": "A\\ud800\\u0000B", "customer_name": "Ava", "country": "US", "lines": []}'
    response = Client().post(
        "/api/v1/orders",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 400
    assert not Order.objects.exists()
    entry = only_entry(action="import")
    assert entry.outcome == "refused" and entry.numbers == "A\ufffd\ufffdB"


def test_api_submit_is_recorded(api_token, make_order):
    _token, raw = api_token
    make_order(number="D-1", draft=True)
    response = api_post("/api/v1/orders/D-1/submit", {}, raw)
    assert response.status_code == 200
    entry = only_entry(action="submit")
    assert (entry.actor, entry.numbers, entry.outcome) == ("api: Shop", "D-1", "done")


# --- the admin and machines ----------------------------------------------------------------


def test_staff_transition_in_the_admin_is_recorded(client, staff, make_order):
    order = make_order(number="S-1")
    client.force_login(staff)
    url = reverse("admin:orders_order_transition", args=[order.pk, "hold"])
    client.post(url, {"reason": "pending_approval"}, REMOTE_ADDR=IP)
    assert Order.objects.get(pk=order.pk).status == "action_required"
    entry = only_entry(action="hold")
    assert (entry.user, entry.numbers, entry.ip, entry.outcome) == (staff, "S-1", IP, "done")


def test_machines_and_service_calls_outside_a_request_leave_no_entries(make_order, drive, manager):
    order = drive(make_order(), "delivered")  # review and carrier events, and staff steps
    order_cancel(order=make_order(), by=manager)
    assert order.status == "delivered"
    assert not AuditEntry.objects.exists()


def test_review_running_inside_a_request_is_not_audited(as_manager, api_token, products):
    """The API import triggers review in the same request: only the import is recorded."""
    _token, raw = api_token
    order = {
        "number": "API-2",
        "lines": [{"sku": "TEE-1", "quantity": 1, "unit_price": "9.99"}],
        **US_ADDRESS,
    }
    api_post("/api/v1/orders", order, raw)
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["import"]


# --- the log itself ------------------------------------------------------------------------


def test_entries_are_append_only(as_manager, make_order):
    make_order(number="A-12")
    post(as_manager, reverse("order_cancel", args=["A-12"]))
    entry = AuditEntry.objects.get()
    entry.reason = "tampered"
    with pytest.raises(HistoryIsAppendOnly):
        entry.save()
    with pytest.raises(HistoryIsAppendOnly):
        entry.delete()
    with pytest.raises(HistoryIsAppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().reason == ""


def test_admin_shows_entries_read_only_and_searchable(client, staff, as_manager, make_order):
    make_order(number="A-13")
    make_order(number="A-14")
    post(as_manager, reverse("order_cancel", args=["A-13"]))
    post(as_manager, reverse("order_clean_sweep", args=["A-14"]))
    entry = AuditEntry.objects.get(action="cancel")
    admin = Client()
    admin.login(username=staff.username, password=PASSWORD)
    changelist = reverse("admin:orders_auditentry_changelist")
    found = admin.get(changelist, {"q": "clean_sweep"})
    assert found.status_code == 200
    assert "A-14" in found.text and "A-13" not in found.text
    assert "A-13" in admin.get(changelist, {"q": "alice", "action__exact": "cancel"}).text
    assert "A-13" in admin.get(changelist, {"q": "Acme"}).text
    assert admin.get(reverse("admin:orders_auditentry_add")).status_code == 403
    admin.post(reverse("admin:orders_auditentry_change", args=[entry.pk]), {"reason": "x"})
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""
    delete = reverse("admin:orders_auditentry_delete", args=[entry.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 403


# --- the client IP ---------------------------------------------------------------------------


def _request(remote, forwarded=None):
    from django.test import RequestFactory

    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_client_ip_ignores_forwarded_for_without_trusted_proxies():
    assert client_ip(_request("10.0.0.2", "198.51.100.1")) == "10.0.0.2"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_client_ip_behind_one_proxy_takes_the_entry_it_appended():
    # The client wrote the first entry itself; the proxy appended the real address.
    assert client_ip(_request("10.0.0.2", "1.2.3.4, 198.51.100.1")) == "198.51.100.1"
    assert client_ip(_request("10.0.0.2", "not-an-ip")) == "10.0.0.2"


def test_staff_field_edit_in_the_admin_is_recorded(client, staff, make_order):
    from tests.admin_pages import form_of

    order = make_order(number="S-2")
    client.force_login(staff)
    url = f"/admin/orders/order/{order.pk}/change/"
    page = form_of(client.get(url), "order_form")
    response = client.post(url, {**page, "city": "Boston"}, REMOTE_ADDR=IP)
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).city == "Boston"
    entry = only_entry(action="admin_edit")
    assert (entry.user, entry.numbers, entry.reason, entry.ip) == (
        staff,
        "S-2",
        "changed city",
        IP,
    )
