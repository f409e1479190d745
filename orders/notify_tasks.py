"""The background work of telling merchants, on django-tasks: dispatching new events and
sending webhook deliveries (with their retries scheduled as deferred tasks).

On the database backend `manage.py db_worker` runs these. On the immediate backend (tests,
the embedded default without a worker) they run in a daemon thread, never inside the
request or transaction that wrote the event.
"""

import contextlib
import contextvars
import datetime
import logging
import threading

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend

log = logging.getLogger(__name__)


@task()
def dispatch_events_task(sweep=False):
    """Dispatch every event not yet dispatched. A run asked for by a commit also leaves a
    sweep a few seconds later, for events committed while it ran (or if clocks disagree)."""
    from .notify import dispatch_events

    total = 0
    while True:
        found = dispatch_events()
        total += found
        if not found:
            break
    if not sweep and not _inline(dispatch_events_task):
        when = timezone.now() + SWEEP_AFTER
        if not _already_waiting(dispatch_events_task, when):
            dispatch_events_task.using(run_after=when).enqueue(sweep=True)
    return total


@task()
def deliver_webhooks_task():
    from .webhooks.sending import deliver_due

    sent = deliver_due()
    schedule_retries()
    return sent


def _inline(task_obj):
    return isinstance(task_obj.get_backend(), ImmediateBackend)


def _in_thread(func, delay=0):
    def run():
        try:
            func()
        except Exception:
            log.exception("background notification work failed")
        finally:
            connection.close()

    timer = threading.Timer(delay, run)
    timer.daemon = True
    timer.start()
    return timer


_paused = contextvars.ContextVar("notify_paused", default=False)


@contextlib.contextmanager
def paused():
    """Schedule no background work meanwhile (demo data writes its history in bulk and
    marks it as already told)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def _enabled():
    # Tests turn the background off and call dispatch_events() / deliver_due() themselves.
    return getattr(settings, "NOTIFY_IN_BACKGROUND", True) and not _paused.get()


# A dispatch is queued to start a moment after the commit that asked for it; until then,
# further commits in this process need not queue another (it starts after them too). So a
# burst of status changes queues one task per DISPATCH_DELAY, and most pay no query at all.
DISPATCH_DELAY = datetime.timedelta(milliseconds=300)
SWEEP_AFTER = datetime.timedelta(seconds=5)
_queued = {"starts_after": None}
_queued_lock = threading.Lock()


def schedule_dispatch():
    """After a commit that wrote events."""
    if not _enabled():
        return
    if _inline(dispatch_events_task):
        _in_thread(dispatch_events_task.func)
        return
    now = timezone.now()
    with _queued_lock:
        waiting = _queued["starts_after"]
        if waiting is not None and waiting > now:
            return  # a run this process queued starts after this commit: it will see it
        when = now + DISPATCH_DELAY
        _queued["starts_after"] = when
    dispatch_events_task.using(run_after=when).enqueue()


def schedule_deliveries():
    """Deliveries are due now."""
    if not _enabled():
        return
    if _inline(deliver_webhooks_task):
        _in_thread(deliver_webhooks_task.func)
    else:
        deliver_webhooks_task.enqueue()


def schedule_retries():
    """Have the worker come back when the next retry is due."""
    from .webhooks.sending import next_due

    if not _enabled():
        return
    when = next_due()
    if when is None:
        return
    if _inline(deliver_webhooks_task):
        delay = max(0.0, (when - timezone.now()).total_seconds())
        _in_thread(deliver_webhooks_task.func, delay=delay + 0.05)
    else:
        when = max(when, timezone.now()) + datetime.timedelta(milliseconds=50)
        if not _already_waiting(deliver_webhooks_task, when):
            deliver_webhooks_task.using(run_after=when).enqueue()


def _already_waiting(task_obj, when):
    """Is a run of this task queued, not yet started, for `when` or earlier? Then a new one
    is not needed: it would find nothing the waiting one does not. One indexed look-up
    (every status change with an event pays it, so it is written as plain SQL)."""
    try:
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.models import DBTaskResult, get_date_max
    except ImportError:  # no database backend: an extra run is harmless (work is claimed)
        return False
    if not isinstance(task_obj.get_backend(), DatabaseBackend):
        return False
    # A task enqueued to run now is stored with the largest date as its run_after.
    table = connection.ops.quote_name(DBTaskResult._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE status = %s AND task_path = %s "
            "AND (run_after <= %s OR run_after = %s) LIMIT 1",
            ["READY", task_obj.module_path, when, get_date_max()],
        )
        return cursor.fetchone() is not None
