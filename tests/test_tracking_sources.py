"""Tracking from aggregators: EasyPost tracker events and AfterShip tracking webhooks, each
verified with its own scheme and secret, each provider status mapped to ours, idempotent on
replay and never moving an order backwards (the same service as our own format). The
payloads are shaped like the providers' documented examples."""

import base64
import copy
import datetime
import hashlib
import hmac
import json

import pytest
from django.utils import timezone

from orders.carrier_sources import aftership, easypost
from orders.models import Order, StatusChange, TrackingEvent

TRACKING = "1Z999AA10123456784"  # what the drive fixture hands over with
EASYPOST_SECRET = "test-easypost-secret"  # dashboard.settings_test
AFTERSHIP_SECRET = "test-aftership-secret"


@pytest.fixture
def shipped(make_order, drive):
    return drive(make_order(), "shipped")


def _ago(hours):
    return (timezone.now() - datetime.timedelta(hours=hours)).replace(microsecond=0)


def _fresh(order):
    return Order.objects.get(pk=order.pk)


# --- EasyPost ----------------------------------------------------------------------------------


def _detail(status, hours_ago, message, detail="", city="Newark", state="NJ"):
    return {
        "object": "TrackingDetail",
        "message": message,
        "description": "",
        "status": status,
        "status_detail": detail,
        "datetime": _ago(hours_ago).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": "UPS",
        "carrier_code": "",
        "tracking_location": {
            "object": "TrackingLocation",
            "city": city,
            "state": state,
            "country": "US",
            "zip": None,
        },
    }


def easypost_event(details, status=None, est="2026-12-09T00:00:00Z", event_id="evt_3c1f"):
    return {
        "id": event_id,
        "object": "Event",
        "mode": "production",
        "description": "tracker.updated",
        "previous_attributes": {"status": "pre_transit"},
        "created_at": _ago(0).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pending_urls": [],
        "completed_urls": [],
        "result": {
            "id": "trk_c8e0edb5bb284caa934a0d3db23a148z",
            "object": "Tracker",
            "mode": "production",
            "tracking_code": TRACKING,
            "status": status or (details[-1]["status"] if details else "pre_transit"),
            "status_detail": "",
            "created_at": _ago(48).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updated_at": _ago(0).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signed_by": None,
            "weight": None,
            "est_delivery_date": est,
            "shipment_id": "shp_1a2b3c",
            "carrier": "UPS",
            "tracking_details": details,
            "carrier_detail": {"object": "CarrierDetail", "service": "Ground"},
            "public_url": "https://track.easypost.com/djE6dHJrX2M4ZTBlZGI1",
            "fees": [],
        },
    }


def post_easypost(client, payload, *, secret=EASYPOST_SECRET, signature=None, body=None):
    body = body if body is not None else json.dumps(payload).encode()
    headers = {}
    if signature is not False:
        headers["X-Hmac-Signature"] = signature or easypost.sign(secret, body)
    return client.post(
        "/webhooks/easypost/", data=body, content_type="application/json", headers=headers
    )


def test_easypost_signature_is_the_documented_hex_hmac_with_an_nfkd_secret():
    body = b'{"description":"tracker.updated"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert easypost.sign("s3cret", body) == f"hmac-sha256-hex={expected}"
    # The secret is compared in its compatibility form: the "ﬁ" ligature is "fi".
    assert easypost.sign("\ufb01le-secret", body) == easypost.sign("file-secret", body)


def test_easypost_tracker_update_moves_the_order_and_stores_each_scan(client, shipped):
    payload = easypost_event(
        [
            _detail("pre_transit", 30, "Shipping label created", "label_created"),
            _detail("in_transit", 20, "Origin scan", "arrived_at_facility"),
        ]
    )
    response = post_easypost(client, payload)
    assert response.status_code == 200, response.content
    assert response.json()["order_status"] == "in_transit"
    assert response.json()["events_stored"] == 2
    order = _fresh(shipped)
    assert order.status == "in_transit"
    assert order.estimated_delivery == datetime.date(2026, 12, 9)
    events = list(TrackingEvent.objects.filter(order=order).order_by("occurred_at"))
    assert [e.code for e in events] == ["label_created", "in_transit"]
    assert events[1].location == "Newark, NJ, US"
    assert "Origin scan" in events[1].description and "EasyPost" in events[1].description
    change = StatusChange.objects.filter(order=order, field="status").last()
    assert (change.transition, change.actor_name) == ("scan", "carrier")


def test_easypost_replay_is_idempotent(client, shipped):
    payload = easypost_event([_detail("in_transit", 20, "Origin scan")])
    body = json.dumps(payload).encode()
    assert post_easypost(client, payload, body=body).status_code == 200
    history = StatusChange.objects.count()
    again = post_easypost(client, payload, body=body)
    assert again.status_code == 200  # the provider stops retrying; nothing new is stored
    assert again.json()["events_stored"] == 0
    assert again.json()["events_already_received"] == 1
    assert TrackingEvent.objects.count() == 1
    assert StatusChange.objects.count() == history


def test_easypost_later_update_adds_only_the_new_scans(client, shipped):
    first = [_detail("in_transit", 20, "Origin scan")]
    post_easypost(client, easypost_event(first))
    later = first + [_detail("out_for_delivery", 2, "Out for delivery")]
    response = post_easypost(client, easypost_event(later, event_id="evt_4d2a"))
    assert response.json()["events_stored"] == 1
    assert response.json()["events_already_received"] == 1
    assert _fresh(shipped).status == "out_for_delivery"


@pytest.mark.parametrize(
    "tamper",
    ["unsigned", "wrong secret", "tampered body", "garbage signature", "bare hex"],
)
def test_easypost_refuses_unsigned_or_tampered_calls(client, shipped, tamper):
    payload = easypost_event([_detail("delivered", 1, "Delivered")])
    body = json.dumps(payload).encode()
    if tamper == "unsigned":
        response = post_easypost(client, payload, signature=False)
    elif tamper == "wrong secret":
        response = post_easypost(client, payload, secret="not-the-secret")
    elif tamper == "tampered body":
        signature = easypost.sign(EASYPOST_SECRET, body)
        forged = body.replace(b"Delivered", b"Delivrd!!")
        response = post_easypost(client, payload, signature=signature, body=forged)
    elif tamper == "garbage signature":
        response = post_easypost(client, payload, signature="hmac-sha256-hex=" + "0" * 64)
    else:  # the right digest without the scheme's prefix
        digest = hmac.new(EASYPOST_SECRET.encode(), body, hashlib.sha256).hexdigest()
        response = post_easypost(client, payload, signature=digest, body=body)
    assert response.status_code == 401
    assert not TrackingEvent.objects.exists()
    assert _fresh(shipped).status == "shipped"


def test_easypost_unconfigured_refuses_everything(client, shipped, settings):
    settings.EASYPOST_WEBHOOK_SECRET = ""
    payload = easypost_event([_detail("delivered", 1, "Delivered")])
    response = post_easypost(client, payload, secret="")
    assert response.status_code == 503
    assert not TrackingEvent.objects.exists()


# Every EasyPost status, on a shipped order: the state it leaves the order in.
EASYPOST_EXPECTED = {
    "unknown": "shipped",
    "pre_transit": "shipped",
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "available_for_pickup": "delivery_exception",
    "delivered": "delivered",
    "return_to_sender": "returned",
    "failure": "delivery_exception",
    "cancelled": "shipped",
    "error": "shipped",
}


def test_the_easypost_table_covers_every_status():
    assert set(easypost.STATUSES) == set(EASYPOST_EXPECTED)


@pytest.mark.parametrize(("status", "expected"), sorted(EASYPOST_EXPECTED.items()))
def test_every_easypost_status_maps_to_ours(client, shipped, status, expected):
    response = post_easypost(client, easypost_event([_detail(status, 3, f"{status} scan")]))
    assert response.status_code == 200, response.content
    assert _fresh(shipped).status == expected
    assert TrackingEvent.objects.filter(order=shipped).count() == 1


def test_easypost_tracker_without_scans_uses_its_own_status(client, shipped):
    response = post_easypost(client, easypost_event([], status="in_transit"))
    assert response.status_code == 200, response.content
    assert _fresh(shipped).status == "in_transit"


def test_easypost_unknown_status_and_unknown_parcel_are_refused(client, shipped):
    odd = post_easypost(client, easypost_event([_detail("teleported", 1, "Beamed")]))
    assert odd.status_code == 400
    assert "Unknown EasyPost status" in odd.json()["error"]
    other = easypost_event([_detail("delivered", 1, "Delivered")])
    other["result"]["tracking_code"] = "9400100000000000000000"
    assert post_easypost(client, other).status_code == 404
    assert not TrackingEvent.objects.exists()


def test_easypost_events_out_of_order_never_move_the_order_backwards(client, shipped):
    delivered = easypost_event([_detail("delivered", 1, "Delivered, front door")])
    assert post_easypost(client, delivered).json()["order_status"] == "delivered"
    # The earlier scans arrive afterwards (a retried older event): stored, order stays put.
    late = easypost_event(
        [
            _detail("in_transit", 30, "Origin scan"),
            _detail("out_for_delivery", 5, "Out for delivery"),
        ],
        status="out_for_delivery",
        event_id="evt_old",
    )
    response = post_easypost(client, late)
    assert response.status_code == 200
    assert response.json()["events_stored"] == 2
    order = _fresh(shipped)
    assert order.status == "delivered"
    assert TrackingEvent.objects.filter(order=order).count() == 3
    assert not StatusChange.objects.filter(order=order, target="in_transit").exists()


# --- AfterShip ---------------------------------------------------------------------------------


def _checkpoint(tag, hours_ago, message, subtag=None, location="Newark, NJ, US"):
    return {
        "slug": "ups",
        "city": "Newark",
        "created_at": _ago(hours_ago).isoformat(),
        "location": location,
        "country_name": "USA",
        "message": message,
        "country_iso3": "USA",
        "tag": tag,
        "subtag": subtag or f"{tag}_001",
        "subtag_message": message,
        "checkpoint_time": _ago(hours_ago)
        .astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
        .isoformat(),
        "coordinates": [],
        "state": "NJ",
        "zip": None,
        "raw_tag": "",
    }


def aftership_webhook(checkpoints, tag=None, event="tracking_update", event_id="e1a9"):
    last = checkpoints[-1] if checkpoints else {"tag": tag or "Pending", "subtag": ""}
    return {
        "event": event,
        "event_id": f"7c9f1b2e-{event_id}-4f1a-9d0e-2b6c8a1d3f40",
        "is_tracking_first_tag": False,
        "msg": {
            "id": "as9bq7ahc3k2e0lq9otia01d",
            "tracking_number": TRACKING,
            "slug": "ups",
            "title": "#1001",
            "order_id": "1001",
            "tag": tag or last["tag"],
            "subtag": last["subtag"],
            "subtag_message": "",
            "expected_delivery": None,
            "courier_estimated_delivery_date": {
                "estimated_delivery_date": "2026-12-10",
                "estimated_delivery_date_min": None,
                "estimated_delivery_date_max": None,
            },
            "checkpoints": checkpoints,
            "updated_at": _ago(0).isoformat(),
        },
        "ts": int(_ago(0).timestamp()),
    }


def post_aftership(client, payload, *, secret=AFTERSHIP_SECRET, signature=None, body=None):
    body = body if body is not None else json.dumps(payload).encode()
    headers = {}
    if signature is not False:
        headers["aftership-hmac-sha256"] = signature or aftership.sign(secret, body)
    return client.post(
        "/webhooks/aftership/", data=body, content_type="application/json", headers=headers
    )


def test_aftership_signature_is_base64_hmac_sha256_of_the_body():
    body = b'{"event":"tracking_update"}'
    digest = hmac.new(b"s3cret", body, hashlib.sha256).digest()
    assert aftership.sign("s3cret", body) == base64.b64encode(digest).decode()


def test_aftership_update_moves_the_order_and_keeps_the_estimate(client, shipped):
    payload = aftership_webhook(
        [
            _checkpoint("InfoReceived", 30, "Order processed: ready for UPS"),
            _checkpoint("InTransit", 20, "Origin scan", "InTransit_002"),
            _checkpoint("OutForDelivery", 2, "Out for delivery today"),
        ]
    )
    response = post_aftership(client, payload)
    assert response.status_code == 200, response.content
    assert response.json()["events_stored"] == 3
    order = _fresh(shipped)
    assert order.status == "out_for_delivery"
    assert order.estimated_delivery == datetime.date(2026, 12, 10)
    assert response.json()["estimated_delivery"] == "2026-12-10"
    assert TrackingEvent.objects.filter(order=order, location="Newark, NJ, US").count() == 3


def test_aftership_replay_is_idempotent(client, shipped):
    payload = aftership_webhook([_checkpoint("InTransit", 20, "Origin scan")])
    body = json.dumps(payload).encode()
    post_aftership(client, payload, body=body)
    history = StatusChange.objects.count()
    again = post_aftership(client, payload, body=body)
    assert again.status_code == 200
    assert (again.json()["events_stored"], again.json()["events_already_received"]) == (0, 1)
    assert TrackingEvent.objects.count() == 1
    assert StatusChange.objects.count() == history


@pytest.mark.parametrize("tamper", ["unsigned", "wrong secret", "tampered body", "hex digest"])
def test_aftership_refuses_unsigned_or_tampered_calls(client, shipped, tamper):
    payload = aftership_webhook([_checkpoint("Delivered", 1, "Delivered")])
    body = json.dumps(payload).encode()
    if tamper == "unsigned":
        response = post_aftership(client, payload, signature=False)
    elif tamper == "wrong secret":
        response = post_aftership(client, payload, secret="not-the-secret")
    elif tamper == "tampered body":
        signature = aftership.sign(AFTERSHIP_SECRET, body)
        response = post_aftership(
            client, payload, signature=signature, body=body.replace(b"Delivered", b"Delivere!")
        )
    else:  # the right HMAC, but hex instead of the documented base64
        digest = hmac.new(AFTERSHIP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        response = post_aftership(client, payload, signature=digest, body=body)
    assert response.status_code == 401
    assert not TrackingEvent.objects.exists()
    assert _fresh(shipped).status == "shipped"


def test_aftership_signature_is_not_accepted_at_the_easypost_url(client, shipped):
    payload = easypost_event([_detail("delivered", 1, "Delivered")])
    body = json.dumps(payload).encode()
    response = client.post(
        "/webhooks/easypost/",
        data=body,
        content_type="application/json",
        headers={"aftership-hmac-sha256": aftership.sign(AFTERSHIP_SECRET, body)},
    )
    assert response.status_code == 401
    assert not TrackingEvent.objects.exists()


# Every AfterShip delivery status (and the returned-to-sender sub-status) on a shipped order.
AFTERSHIP_EXPECTED = {
    ("Pending", None): "shipped",
    ("InfoReceived", None): "shipped",
    ("InTransit", None): "in_transit",
    ("OutForDelivery", None): "out_for_delivery",
    ("AttemptFail", None): "delivery_exception",
    ("Delivered", None): "delivered",
    ("AvailableForPickup", None): "delivery_exception",
    ("Exception", None): "delivery_exception",
    ("Exception", "Exception_011"): "returned",
    ("Expired", None): "shipped",
}


def test_the_aftership_table_covers_every_status():
    assert set(aftership.STATUSES) == {tag for tag, _sub in AFTERSHIP_EXPECTED}


@pytest.mark.parametrize(("key", "expected"), list(AFTERSHIP_EXPECTED.items()))
def test_every_aftership_status_maps_to_ours(client, shipped, key, expected):
    tag, subtag = key
    payload = aftership_webhook([_checkpoint(tag, 3, f"{tag} checkpoint", subtag)])
    response = post_aftership(client, payload)
    assert response.status_code == 200, response.content
    assert _fresh(shipped).status == expected


def test_aftership_events_out_of_order_never_move_the_order_backwards(client, shipped):
    post_aftership(client, aftership_webhook([_checkpoint("Delivered", 1, "Delivered")]))
    older = aftership_webhook(
        [_checkpoint("InTransit", 30, "Origin scan"), _checkpoint("Exception", 10, "Delay")],
        event_id="e2b8",
    )
    older["msg"]["courier_estimated_delivery_date"]["estimated_delivery_date"] = "2026-12-20"
    response = post_aftership(client, older)
    assert response.status_code == 200
    order = _fresh(shipped)
    assert order.status == "delivered"
    # An older call does not overwrite the estimate either.
    assert order.estimated_delivery == datetime.date(2026, 12, 10)
    assert TrackingEvent.objects.filter(order=order).count() == 3


def test_aftership_estimate_revision_without_checkpoints_updates_only_the_date(client, shipped):
    post_aftership(client, aftership_webhook([_checkpoint("InTransit", 5, "Origin scan")]))
    revised = aftership_webhook([], event="edd_revise", event_id="e3c7")
    revised["msg"]["tag"] = "InTransit"
    revised["msg"]["courier_estimated_delivery_date"]["estimated_delivery_date"] = "2026-12-12"
    response = post_aftership(client, revised)
    assert response.status_code == 200, response.content
    order = _fresh(shipped)
    assert (order.status, order.estimated_delivery) == ("in_transit", datetime.date(2026, 12, 12))
    assert TrackingEvent.objects.filter(order=order).count() == 1


def test_order_page_and_api_show_the_carriers_estimate(client, shipped, manager):
    from .dashboard_helpers import login

    post_aftership(client, aftership_webhook([_checkpoint("InTransit", 5, "Origin scan")]))
    login(client, manager)
    page = client.get(f"/orders/{shipped.number}/").content.decode()
    assert "The carrier estimates delivery on" in page and "Dec 10" in page


def test_a_malformed_aftership_body_is_a_400_not_a_500(client, shipped):
    for payload in [[], {"msg": []}, {"msg": {"tracking_number": TRACKING, "checkpoints": {}}}]:
        response = post_aftership(client, payload)
        assert response.status_code == 400
    deep = copy.deepcopy(aftership_webhook([_checkpoint("InTransit", 1, "x")]))
    deep["msg"]["checkpoints"][0]["checkpoint_time"] = "yesterday"
    assert post_aftership(client, deep).status_code == 400
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize("bad", ["\ud800", "1Z\x00", "9" * 65])
def test_text_the_database_cannot_store_is_a_400_for_both_sources(client, shipped, bad):
    """Found by the fuzz tests: a lone surrogate in a scan's time made a 500."""
    scan = easypost_event([_detail("in_transit", 2, "Origin scan")])
    scan["result"]["tracking_details"][0]["datetime"] = bad
    assert post_easypost(client, scan).status_code == 400
    number = easypost_event([_detail("in_transit", 2, "Origin scan")])
    number["result"]["tracking_code"] = bad
    assert post_easypost(client, number).status_code == 400
    revised = aftership_webhook([], event="edd_revise")
    revised["msg"]["tracking_number"] = bad
    assert post_aftership(client, revised).status_code == 400
    assert not TrackingEvent.objects.exists()
    assert _fresh(shipped).estimated_delivery is None
