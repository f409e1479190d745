"""Reading the outbox: turning events into webhook deliveries, e-mails (immediately or in a
daily digest, per member and event type) and the inbox's unread counts.

The dispatcher runs after each commit that wrote events (orders/notify_tasks.py); it never
runs inside a status change. Bursts are summarised: one e-mail per member per dispatch, and
an import's events wait for the import to finish and go out in one message with it.
"""

import datetime
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone

from . import events as ev
from . import statuses as st
from .event_models import (
    DIGEST,
    IMMEDIATELY,
    NEVER,
    EmailPreference,
    Event,
    EventRead,
    InboxState,
)
from .models import BATCH_DONE, BATCH_FAILED, MANAGER, ImportBatch, Membership
from .webhooks.models import DISABLED, WebhookDelivery, WebhookEndpoint
from .webhooks.sending import webhook_body

log = logging.getLogger(__name__)

# Managers hear at once about what needs them; everything else is opt-in.
MANAGER_DEFAULTS = {
    ev.HELD: IMMEDIATELY,
    ev.DELIVERY_EXCEPTION: IMMEDIATELY,
    ev.RETURNED: IMMEDIATELY,
    ev.IMPORT_FINISHED: IMMEDIATELY,
}
DIGEST_EVERY = datetime.timedelta(hours=23)


def default_choice(role, kind):
    if role == MANAGER:
        return MANAGER_DEFAULTS.get(kind, NEVER)
    return NEVER


def email_choices(user, merchant, role):
    """{event type: choice} for one member, defaults filled in."""
    chosen = dict(
        EmailPreference.objects.filter(user=user, merchant=merchant).values_list("kind", "choice")
    )
    return {kind: chosen.get(kind, default_choice(role, kind)) for kind in ev.TYPE_NAMES}


def set_email_choices(user, merchant, choices):
    valid = {IMMEDIATELY, DIGEST, NEVER}
    with transaction.atomic():
        for kind, choice in choices.items():
            if kind in ev.TYPE_NAMES and choice in valid:
                EmailPreference.objects.update_or_create(
                    user=user, merchant=merchant, kind=kind, defaults={"choice": choice}
                )


def summary(event):
    """One line: which order, what happened."""
    data = event.payload or {}
    label = ev.TYPE_LABELS.get(event.type, event.type)
    if event.type == ev.IMPORT_FINISHED:
        info = data.get("import", {})
        return (
            f"Import {info.get('filename') or info.get('id', '')} finished: "
            f"{info.get('created', 0)} created, {info.get('errors', 0)} errors"
        )
    number = data.get("number", "")
    if event.type == ev.HELD and data.get("hold"):
        return f"Order {number} is on hold: {data['hold'].get('label', '')}"
    if event.type == ev.TRACKING_UPDATED and data.get("sub_status"):
        return f"Order {number} is {data['sub_status']}"
    if event.type == ev.PAYMENT_UPDATED:
        payment = st.PAYMENT_LABELS.get(data.get("payment_status"), data.get("payment_status"))
        return f"Order {number}: payment {str(payment).lower()}"
    return f"Order {number} {ev.SAID.get(event.type, label)}"


# --- dispatch ------------------------------------------------------------------------------


def dispatch_events(limit=1000):
    """Turn new events into webhook deliveries and send the e-mails that are due. Returns
    the number of events dispatched. Safe to run concurrently and repeatedly."""
    now = timezone.now()
    deliveries = []
    with transaction.atomic():
        batch = Event.objects.filter(dispatched_at=None).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            batch = batch.select_for_update(skip_locked=True)
        found = list(batch[:limit])
        if found:
            merchants = {e.merchant_id for e in found}
            endpoints = {}
            for endpoint in WebhookEndpoint.objects.filter(merchant_id__in=merchants).exclude(
                state=DISABLED
            ):
                endpoints.setdefault(endpoint.merchant_id, []).append(endpoint)
            for event in found:
                for endpoint in endpoints.get(event.merchant_id, []):
                    if endpoint.wants(event.type):
                        deliveries.append(
                            WebhookDelivery(
                                endpoint=endpoint,
                                event=event,
                                msg_id=event.msg_id,
                                event_type=event.type,
                                body=webhook_body(event.type, event.created_at, event.payload),
                                created_at=now,
                                next_attempt_at=now,
                            )
                        )
            WebhookDelivery.objects.bulk_create(deliveries)
            Event.objects.filter(pk__in=[e.pk for e in found]).update(dispatched_at=now)
    if deliveries:
        from .notify_tasks import schedule_deliveries

        schedule_deliveries()
    mail_immediate()
    return len(found)


# --- e-mail --------------------------------------------------------------------------------


def _members(merchant_ids):
    """{merchant_id: [(user, role)]} of active members with an e-mail address."""
    rows = Membership.objects.filter(
        merchant_id__in=merchant_ids, user__is_active=True
    ).select_related("user", "merchant")
    members = {}
    for m in rows:
        if m.user.email:
            members.setdefault(m.merchant_id, []).append((m.user, m.role, m.merchant))
    return members


def mail_immediate(limit=5000):
    """E-mail the events members want immediately: one message per member for all that are
    ready (a single event, or a summary of a burst). An import's events are ready once the
    import has finished."""
    with transaction.atomic():
        pending = Event.objects.filter(mailed=False).exclude(dispatched_at=None).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        found = list(pending[:limit])
        open_batches = set(
            ImportBatch.objects.filter(pk__in={e.batch_id for e in found if e.batch_id})
            .exclude(state__in=[BATCH_DONE, BATCH_FAILED])
            .values_list("pk", flat=True)
        )
        ready = [e for e in found if e.batch_id not in open_batches]
        Event.objects.filter(pk__in=[e.pk for e in ready]).update(mailed=True)
    if not ready:
        return 0
    messages = []
    by_merchant = {}
    for event in ready:
        by_merchant.setdefault(event.merchant_id, []).append(event)
    members = _members(by_merchant)
    for merchant_id, merchant_events in by_merchant.items():
        for user, role, merchant in members.get(merchant_id, []):
            choices = email_choices(user, merchant, role)
            wanted = [e for e in merchant_events if choices.get(e.type) == IMMEDIATELY]
            if wanted:
                messages.append(_message(user, merchant, wanted, digest=False))
    _send(messages)
    return len(messages)


def send_digests(now=None):
    """The daily digest: for each member who chose it for some event types, one e-mail with
    those events since their last digest. Run daily (`manage.py send_digests`)."""
    now = now or timezone.now()
    sent = 0
    memberships = Membership.objects.filter(user__is_active=True).select_related("user", "merchant")
    messages = []
    for membership in memberships:
        user, merchant = membership.user, membership.merchant
        if not user.email:
            continue
        kinds = [
            k for k, c in email_choices(user, merchant, membership.role).items() if c == DIGEST
        ]
        if not kinds:
            continue
        state, _ = InboxState.objects.get_or_create(user=user, merchant=merchant)
        if state.digest_sent_at and now - state.digest_sent_at < DIGEST_EVERY:
            continue
        events = Event.objects.filter(merchant=merchant, type__in=kinds).order_by("id")
        if state.digest_through is not None:
            events = events.filter(pk__gt=state.digest_through)
        else:
            events = events.filter(created_at__gte=now - datetime.timedelta(days=1))
        events = list(events[:1000])
        latest = Event.objects.filter(merchant=merchant).aggregate(m=Max("id"))["m"] or 0
        InboxState.objects.filter(pk=state.pk).update(digest_through=latest, digest_sent_at=now)
        if events:
            messages.append(_message(user, merchant, events, digest=True))
            sent += 1
    _send(messages)
    return sent


SHOWN_IN_EMAIL = 50


def _message(user, merchant, events, *, digest):
    n = len(events)
    updates = f"{n} update{'s' if n != 1 else ''}"
    if digest:
        subject = f"Your daily summary: {updates} for {merchant.name}"
    elif n == 1:
        subject = f"{summary(events[0])} ({merchant.name})"
    else:
        subject = f"{updates} for {merchant.name}"
    counts = {}
    for event in events:
        counts[event.type] = counts.get(event.type, 0) + 1
    context = {
        "user": user,
        "merchant": merchant,
        "events": [_email_item(e) for e in events[:SHOWN_IN_EMAIL]],
        "more": max(0, len(events) - SHOWN_IN_EMAIL),
        "counts": [(ev.TYPE_LABELS.get(k, k), n) for k, n in counts.items()],
        "digest": digest,
        "total": len(events),
        "inbox_url": ev.site_url("/inbox/"),
        "settings_url": ev.site_url("/settings/notifications/"),
    }
    text = render_to_string("email/events.txt", context)
    html = render_to_string("email/events.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.attach_alternative(html, "text/html")
    return message


def _email_item(event):
    data = event.payload or {}
    hold = data.get("hold") or {}
    info = data.get("import") or {}
    return {
        "summary": summary(event),
        "why": " ".join(hold.get("detail") or [])
        or hold.get("note")
        or data.get("failure_reason")
        or data.get("explanation", ""),
        "what_to_do": data.get("what_you_can_do", ""),
        "url": data.get("url") or info.get("url", ""),
    }


def mail_endpoint_failing(endpoint):
    """Tell the merchant's managers that an endpoint has stopped accepting deliveries."""
    managers = Membership.objects.filter(
        merchant_id=endpoint.merchant_id, role=MANAGER, user__is_active=True
    ).select_related("user")
    recipients = [m.user.email for m in managers if m.user.email]
    if not recipients:
        return
    link = ev.site_url(f"/settings/webhooks/{endpoint.pk}/")
    context = {"endpoint": endpoint, "url": link}
    message = EmailMultiAlternatives(
        f"Webhook endpoint failing: {endpoint.url}",
        render_to_string("email/endpoint_failing.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        recipients,
    )
    message.attach_alternative(
        render_to_string("email/endpoint_failing.html", context), "text/html"
    )
    _send([message])


def _send(messages):
    if not messages:
        return
    try:
        get_connection().send_messages(messages)
    except Exception:
        log.exception("sending %d notification e-mails failed", len(messages))


# --- inbox ---------------------------------------------------------------------------------

UNREAD_CAP = 99


def _read_through(user, merchant):
    return (
        InboxState.objects.filter(user=user, merchant=merchant)
        .values_list("read_through", flat=True)
        .first()
        or 0
    )


def inbox_events(user, merchant):
    return Event.objects.filter(merchant=merchant).select_related("order")


def unread_ids(user, merchant, events):
    """Which of `events` (already read from the database) this member has not read."""
    through = _read_through(user, merchant)
    read = set(
        EventRead.objects.filter(user=user, event_id__in=[e.pk for e in events]).values_list(
            "event_id", flat=True
        )
    )
    return {e.pk for e in events if e.pk > through and e.pk not in read}


def unread_count(user, merchant, cap=UNREAD_CAP):
    """Unread events of this merchant for this member, counted up to cap + 1."""
    through = _read_through(user, merchant)
    read = EventRead.objects.filter(user=user, event__merchant=merchant).values("event_id")
    return (
        Event.objects.filter(merchant=merchant, pk__gt=through)
        .exclude(pk__in=read)
        .values("pk")[: cap + 1]
        .count()
    )


def mark_read(user, merchant, event_ids=None):
    """Mark some events (or, without ids, all up to now) read for this member."""
    with transaction.atomic():
        if event_ids is None:
            latest = Event.objects.filter(merchant=merchant).aggregate(m=Max("id"))["m"] or 0
            state, _ = InboxState.objects.get_or_create(user=user, merchant=merchant)
            InboxState.objects.filter(pk=state.pk).update(read_through=latest)
            EventRead.objects.filter(user=user, event__merchant=merchant).delete()
            return
        ids = Event.objects.filter(merchant=merchant, pk__in=event_ids).values_list("pk", flat=True)
        EventRead.objects.bulk_create(
            [EventRead(user=user, event_id=pk) for pk in ids], ignore_conflicts=True
        )
