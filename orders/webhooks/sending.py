"""Sending deliveries: the address check (at save time and again at send time, after DNS
resolution), Standard Webhooks signing with the `standardwebhooks` package, one HTTP attempt
(5 s timeout, the first 1 KB of the answer kept), and the retry schedule (exponential backoff
with jitter for 24 hours under the same `webhook-id`, then the endpoint is marked failing).

`deliver_due()` is what the worker runs: it claims due deliveries and sends them from a small
thread pool, one endpoint per thread, so a slow endpoint holds up only itself.
"""

import datetime
import ipaddress
import json
import logging
import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks import Webhook

from .models import (
    ACTIVE,
    DELIVERED,
    FAILING,
    GAVE_UP,
    PENDING,
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

RETRY_WINDOW = datetime.timedelta(hours=24)
FIRST_RETRY_SECONDS = 5
MAX_RETRY_SECONDS = 2 * 3600
LEASE = datetime.timedelta(seconds=60)  # a claimed delivery is not claimed again meanwhile
THREADS = 8
PER_ENDPOINT = 20  # deliveries one endpoint gets per round
KEEP_BYTES = 1024
SLOW_MS = 1000  # a failure that took this long stops its endpoint's round

# Cloud metadata services: refused even where a resolver maps them somewhere unusual.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("fd00:ec2::254"),
}


class AddressRefused(Exception):
    """The URL may not be used as a webhook endpoint; the message says why."""


# --- where we may send ---------------------------------------------------------------------


def _refusal(ip):
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_loopback:
        return None if settings.WEBHOOK_ALLOW_LOOPBACK else "a loopback address"
    if getattr(ip, "ipv4_mapped", None):
        return _refusal(ip.ipv4_mapped)
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
        return "a private or reserved address"
    if not ip.is_global:
        return "not a public address"
    return None


def resolve(host, port):
    """Every address `host` resolves to (a seam the tests replace)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def check_url(url):
    """(parsed URL, the address to connect to) or AddressRefused. Runs when an endpoint is
    saved and again before every attempt, on the addresses DNS gives now, so a name that
    later points inside our network is refused too."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise AddressRefused("The URL must start with https://.")
    if settings.WEBHOOK_REQUIRE_HTTPS and parts.scheme != "https":
        raise AddressRefused("The URL must use https.")
    if not parts.hostname:
        raise AddressRefused("The URL has no host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise AddressRefused("The URL's port is not a number between 0 and 65535.") from None
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError):
        raise AddressRefused(f"The host name {parts.hostname} does not resolve.") from None
    if not addresses:
        raise AddressRefused(f"The host name {parts.hostname} does not resolve.")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        why = _refusal(ip)
        if why:
            raise AddressRefused(f"{parts.hostname} resolves to {ip}, {why}: not allowed.")
    return parts, addresses[0]


# --- signing -------------------------------------------------------------------------------


def signed_headers(endpoint, msg_id, body, now):
    """The Standard Webhooks headers: one `v1,` signature per secret that signs now (the
    current one, and the previous one for 24 hours after a rotation)."""
    signatures = [
        Webhook(secret).sign(msg_id=msg_id, timestamp=now, data=body)
        for secret in endpoint.signing_secrets(now)
    ]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": "fulfillment-webhooks/1",
    }


def webhook_body(event_type, created_at, data):
    """The bytes every attempt of one message sends: {type, timestamp, data}."""
    document = {"type": event_type, "timestamp": created_at.isoformat(), "data": data}
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


# --- one attempt ---------------------------------------------------------------------------


@dataclass
class Outcome:
    status_code: int | None
    duration_ms: int
    response: str = ""
    error: str = ""

    timed_out: bool = False

    @property
    def ok(self):
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def slow(self):
        return self.timed_out or self.duration_ms >= SLOW_MS


def attempt(endpoint, delivery, *, now, client):
    """One POST of a delivery. No database access: this runs in a worker thread."""
    started = time.monotonic()
    try:
        parts, address = check_url(endpoint.url)
        headers = signed_headers(endpoint, delivery.msg_id, delivery.body, now)
        headers["host"] = parts.netloc.rpartition("@")[2]
        # Connect to the address just checked (no second lookup that could answer
        # differently); TLS still verifies the certificate against the host name.
        ip_host = f"[{address}]" if ":" in address else address
        port = f":{parts.port}" if parts.port else ""
        target = parts._replace(netloc=f"{ip_host}{port}").geturl()
        kept = b""
        with client.stream(
            "POST",
            target,
            content=delivery.body.encode(),
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            extensions={"sni_hostname": parts.hostname},
        ) as response:
            for chunk in response.iter_bytes():
                kept += chunk
                if len(kept) >= KEEP_BYTES:
                    break
            status = response.status_code
        return Outcome(
            status,
            _ms(started),
            kept[:KEEP_BYTES].decode("utf-8", errors="replace").replace("\x00", ""),
        )
    except AddressRefused as exc:
        return Outcome(None, _ms(started), error=str(exc))
    except httpx.TimeoutException:
        return Outcome(None, _ms(started), error="timed out after 5 s", timed_out=True)
    except httpx.HTTPError as exc:
        return Outcome(None, _ms(started), error=f"{type(exc).__name__}: {exc}"[:300])


def _ms(started):
    return int((time.monotonic() - started) * 1000)


def retry_delay(attempts, rng=random):
    """Seconds before the next attempt after `attempts` failed ones: doubling from 5 s up to
    2 h, each with random jitter (50 % to 150 %) so many failed deliveries spread out."""
    base = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
    return base * (0.5 + rng.random())


# --- recording -----------------------------------------------------------------------------


def record(delivery, outcome, *, now, rng=random):
    """Store the attempt and what follows from it: delivered; another try later; or, once
    24 hours have passed, given up with the endpoint marked failing (managers e-mailed)."""
    newly_failing = None
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response=outcome.response,
            error=outcome.error,
        )
        delivery.attempts += 1
        delivery.last_status = outcome.status_code
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        if outcome.ok:
            delivery.state = DELIVERED
            if endpoint.state == FAILING:
                endpoint.state, endpoint.failing_since = ACTIVE, None
                endpoint.save(update_fields=["state", "failing_since"])
        else:
            deadline = delivery.created_at + RETRY_WINDOW
            if now >= deadline:
                delivery.state = GAVE_UP
                if endpoint.state == ACTIVE:
                    endpoint.state, endpoint.failing_since = FAILING, now
                    endpoint.save(update_fields=["state", "failing_since"])
                    newly_failing = endpoint
            else:
                wait = datetime.timedelta(seconds=retry_delay(delivery.attempts, rng))
                delivery.next_attempt_at = min(now + wait, deadline)
        delivery.save(update_fields=["attempts", "last_status", "state", "next_attempt_at"])
    if newly_failing is not None:
        # After the caller's commit: the managers hear once the state is stored.
        transaction.on_commit(lambda: _tell_managers(newly_failing))
    return newly_failing


def _tell_managers(endpoint):
    from ..notify import mail_endpoint_failing

    mail_endpoint_failing(endpoint)


# --- the worker's loop ---------------------------------------------------------------------


def _claim(now, limit):
    """Up to `limit` due deliveries, at most PER_ENDPOINT per endpoint, leased so another
    worker does not take them meanwhile."""
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(state=PENDING, next_attempt_at__lte=now).order_by(
            "next_attempt_at", "id"
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        taken, per_endpoint = [], {}
        for pk, endpoint_id in due.values_list("pk", "endpoint_id")[: limit * 5]:
            if per_endpoint.get(endpoint_id, 0) < PER_ENDPOINT:
                per_endpoint[endpoint_id] = per_endpoint.get(endpoint_id, 0) + 1
                taken.append(pk)
            if len(taken) >= limit:
                break
        WebhookDelivery.objects.filter(pk__in=taken).update(next_attempt_at=now + LEASE)
    return list(
        WebhookDelivery.objects.filter(pk__in=taken)
        .select_related("endpoint")
        .order_by("created_at", "id")
    )


def deliver_due(*, now=None, client=None, limit=200, rng=random):
    """Send every delivery that is due, round after round; returns how many were attempted.
    `now` and `client` are seams for tests (a fake clock, httpx.MockTransport)."""
    own_client = client is None
    client = client or httpx.Client(follow_redirects=False)
    total = 0
    try:
        while True:
            moment = now or timezone.now()
            claimed = _claim(moment, limit)
            if not claimed:
                return total
            groups = {}
            for delivery in claimed:
                groups.setdefault(delivery.endpoint_id, []).append(delivery)

            def send_group(deliveries, moment=moment):
                results = []
                for delivery in deliveries:
                    outcome = attempt(delivery.endpoint, delivery, now=moment, client=client)
                    results.append((delivery, outcome))
                    if not outcome.ok and outcome.slow:
                        # A slow failure (a timeout): the endpoint's other deliveries wait
                        # for a later round rather than hold this thread for 5 s each.
                        break
                return results

            with ThreadPoolExecutor(max_workers=min(THREADS, len(groups))) as pool:
                finished = list(pool.map(send_group, groups.values()))
            tried = set()
            with transaction.atomic():  # one commit per round, not per attempt
                for results in finished:
                    for delivery, outcome in results:
                        record(delivery, outcome, now=moment, rng=rng)
                        tried.add(delivery.pk)
                        total += 1
            # Claimed but not tried (their endpoint failed first): due again shortly.
            untried = [d.pk for d in claimed if d.pk not in tried]
            WebhookDelivery.objects.filter(pk__in=untried, state=PENDING).update(
                next_attempt_at=moment + datetime.timedelta(seconds=FIRST_RETRY_SECONDS)
            )
            if now is not None:
                return total  # a fixed clock: one round, or it would loop on the same moment
    finally:
        if own_client:
            client.close()


def next_due():
    """When the earliest pending delivery is due, or None."""
    return (
        WebhookDelivery.objects.filter(state=PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
