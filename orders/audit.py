"""The audit log: who tried to change which orders, from where, and what came of it.

Each entry is an AuditEntry row and one line on the "orders.audit" logger. Entries are
written by the services (orders/services.py: every transition, address edits and requests;
orders/importing/: every imported order and every upload), so a new view or endpoint that
changes orders through them is covered without doing anything.

What is recorded: changes asked for by a person (a merchant user or staff) or an API token,
while an *origin* is active. The web sets one for every request (client IP and path,
dashboard/security.py); an import batch running in the background takes the origin of its
upload. Machines (review, carrier events, the demo simulator and seeding) act without an
origin or under their own names and leave only their StatusChange history.
"""

import contextlib
import contextvars
import logging
from dataclasses import dataclass, field

from django.db.models import Model

from .text import storable

log = logging.getLogger("orders.audit")

API_ACTOR_PREFIX = "api: "
# An entry's outcome (AuditEntry.outcome), not a payment status: named once, here.
DONE = "done"
REFUSED = "refused"


@dataclass
class Origin:
    ip: str | None = None
    path: str = ""
    detail: dict = field(default_factory=dict)


_origin = contextvars.ContextVar("audit_origin", default=None)


@contextlib.contextmanager
def origin(*, ip=None, path="", **detail):
    """Record changes made inside this block as coming from `ip` / `path`."""
    token = _origin.set(Origin(ip=ip, path=storable(path)[:300], detail=dict(detail)))
    try:
        yield _origin.get()
    finally:
        _origin.reset(token)


def current_origin():
    return _origin.get()


def note(**detail):
    """Add details (e.g. which API token) to the current origin's entries."""
    current = _origin.get()
    if current is not None:
        current.detail.update(detail)


def api_actor(token):
    """The name an API token acts under, in history and audit rows."""
    return f"{API_ACTOR_PREFIX}{token.name}"


def is_audited(by):
    """Whether a change by `by` is audited: a person or an API token, inside an origin."""
    if _origin.get() is None:
        return False
    return isinstance(by, Model) or (isinstance(by, str) and by.startswith(API_ACTOR_PREFIX))


def _actor(by):
    if isinstance(by, Model):
        return by, by.get_username()
    return None, str(by)


def entry(action, *, by, merchant, numbers=(), outcome, reason=""):
    """An unsaved AuditEntry for the current origin (see record / record_many)."""
    from .models import AuditEntry

    current = _origin.get() or Origin()
    user, actor = _actor(by)
    merchant_id = merchant if isinstance(merchant, int) or merchant is None else merchant.pk
    return AuditEntry(
        user=user,
        # What was asked for is recorded even when it was refused for being unstorable.
        actor=storable(actor)[:150],
        merchant_id=merchant_id,
        action=action[:40],
        numbers=storable(" ".join(str(n) for n in numbers if n)),
        outcome=outcome,
        reason=storable(reason),
        ip=current.ip,
        path=current.path,
        detail=dict(current.detail),
    )


def _log(item):
    level = logging.INFO if item.outcome == DONE else logging.WARNING
    log.log(
        level,
        "action=%s outcome=%s actor=%s merchant=%s orders=%s ip=%s path=%s reason=%r",
        item.action,
        item.outcome,
        item.actor,
        item.merchant_id or "-",
        item.numbers or "-",
        item.ip or "-",
        item.path or "-",
        item.reason,
    )


def record(action, *, by, merchant, numbers=(), outcome, reason=""):
    """Store and log one entry. Callers check is_audited(by) first."""
    item = entry(action, by=by, merchant=merchant, numbers=numbers, outcome=outcome, reason=reason)
    item.save()
    _log(item)
    return item


def record_many(items):
    """Store and log unsaved entries in one query (an import chunk)."""
    from .models import AuditEntry

    if not items:
        return []
    saved = AuditEntry.objects.bulk_create(items)
    for item in saved:
        _log(item)
    return saved


def batch_origin(batch):
    """The origin an import batch runs under: its upload's (IP and page), marked with the
    batch, or None when nobody uploaded it from the web (the command line)."""
    from .models import AuditEntry

    upload = (
        AuditEntry.objects.filter(action="import_upload", detail__batch=batch.pk)
        .only("ip", "path")
        .first()
    )
    if upload is None:
        return contextlib.nullcontext()
    return origin(ip=upload.ip, path=f"{upload.path} (batch {batch.pk})", batch=batch.pk)
