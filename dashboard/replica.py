"""Reads on a replica (docs/deployment.md, "Read replica").

With DATABASE_REPLICA_URL set, settings.py adds a `replica` database and REPLICA_READS is on.
Only the order list (its rows, search, tab and view counts) and the CSV export may read
there, and only inside `replica_reads()`, the scope their views open with `@reads_replica`.
Everything else reads from the primary (`default`), and so does, even inside that scope:

- a read inside a transaction (`transaction.atomic`): it must see its own writes and lock
  what it reads;
- a read after a write in the same scope;
- a request of a user who wrote within the last REPLICA_READ_YOUR_WRITES_SECONDS: every
  unsafe request (POST, ...) of a signed-in user sets a cookie saying until when, so their
  next list shows the order they just cancelled as cancelled, not the replica's lagging
  copy of it.

Writes always go to the primary; the replica is never migrated (it copies the primary).
"""

import contextlib
import contextvars
import functools
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
COOKIE = "recent_write"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# The scope's state while a replica-eligible view runs: {"wrote": bool}, or None outside.
_scope = contextvars.ContextVar("replica_scope", default=None)


def _now():
    return time.time()


@contextlib.contextmanager
def replica_reads():
    """Reads in this block may go to the replica (when there is one and nothing above
    forbids it)."""
    token = _scope.set({"wrote": False})
    try:
        yield
    finally:
        _scope.reset(token)


def _enabled():
    return settings.REPLICA_READS and REPLICA in settings.DATABASES


class ReplicaRouter:
    """Answers None for everything without a replica, so Django behaves as if there were
    no router. With one, it always answers: a model read from the replica must not drag a
    later read or save of it there (Django's fallback is the instance's own database)."""

    def db_for_read(self, model, **hints):
        if not _enabled():
            return None
        scope = _scope.get()
        if scope is None or scope["wrote"] or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model, **hints):
        if not _enabled():
            return None
        scope = _scope.get()
        if scope is not None:
            scope["wrote"] = True  # the rest of this scope reads what it wrote
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        aliases = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == REPLICA:
            return False
        return None


def wrote_recently(request):
    """Whether this browser's user wrote within the read-your-writes window. The cookie only
    ever sends reads to the primary, so a tampered one costs the primary a few reads at most;
    a time beyond the window (a forged "forever") is ignored."""
    try:
        until = float(request.COOKIES.get(COOKIE, ""))
    except ValueError:
        return False
    now = _now()
    return now < until <= now + settings.REPLICA_READ_YOUR_WRITES_SECONDS + 1


def _scoped_chunks(chunks):
    """A streaming response's chunks, each produced inside the replica scope (the export's
    query runs while the response streams, after the view has returned)."""
    iterator = iter(chunks)
    try:
        while True:
            with replica_reads():
                try:
                    chunk = next(iterator)
                except StopIteration:
                    return
            yield chunk
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def reads_replica(view):
    """Run a read-only view's reads in the replica scope, unless its user just wrote."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _enabled() or wrote_recently(request):
            return view(request, *args, **kwargs)
        with replica_reads():
            response = view(request, *args, **kwargs)
        if response.streaming:
            response.streaming_content = _scoped_chunks(response.streaming_content)
        return response

    return wrapper


class ReadYourWritesMiddleware:
    """After an unsafe request of a signed-in user, a cookie keeps that browser's reads on
    the primary for REPLICA_READ_YOUR_WRITES_SECONDS. Dashboard changes are POST only
    (dashboard/views/__init__.py), so the method says when someone may have written."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            _enabled()
            and request.method not in SAFE_METHODS
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        ):
            window = settings.REPLICA_READ_YOUR_WRITES_SECONDS
            response.set_cookie(
                COOKIE,
                f"{_now() + window:.3f}",
                max_age=window,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
