"""Background work of the intake: reviewing orders and processing big import batches.

Both run through django-tasks. On the embedded default (ImmediateBackend) a task runs inline
when it is enqueued; in production the database backend stores it and `manage.py db_worker`
runs it (see the README, "Importing orders").
"""

import contextlib
import contextvars
import logging
import threading

from django.conf import settings
from django.db import connection, transaction
from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend

log = logging.getLogger(__name__)

# While set, review requests are collected here instead of enqueued: the batch importer
# reviews its orders itself in one pass, and demo data keeps the states it was driven to.
_deferred = contextvars.ContextVar("deferred_reviews", default=None)


@contextlib.contextmanager
def reviews_deferred():
    """Collect the ids of orders asking for review instead of enqueuing a task per order.
    Yields the list; the caller reviews them (or, for demo data, deliberately not)."""
    ids = []
    token = _deferred.set(ids)
    try:
        yield ids
    finally:
        _deferred.reset(token)


def request_review(sender=None, order_id=None, **kwargs):
    """Receiver of orders.signals.review_requested (sent after commit)."""
    collected = _deferred.get()
    if collected is not None:
        collected.append(order_id)
        return
    review_order_task.enqueue(order_id)


@task()
def review_order_task(order_id):
    """Review one order (see orders.review.review_order)."""
    from .review import review_order

    try:
        order = review_order(order_id)
    except Exception:
        # The immediate backend keeps errors on the task result only; make them visible.
        log.exception("review of order %s failed; it stays in Import Review", order_id)
        raise
    return order.status if order else None


@task()
def process_import_batch(batch_id):
    """Import a stored batch, then review the orders it created, updating its progress."""
    from .importing import run_batch

    return run_batch(batch_id)


# Threads started for big batches on the immediate backend (tests join them).
background_threads = []


def enqueue_batch(batch):
    """Hand a saved batch to the task backend once the batch row is committed.

    The immediate backend (the embedded default) would run the task inside the upload
    request; a batch bigger than IMPORT_INLINE_MAX_ROWS runs in a background thread instead,
    so the request answers at once and the batch page shows the progress. Production uses
    the database backend and its worker, where every batch is queued.
    """

    def hand_over():
        inline = isinstance(process_import_batch.get_backend(), ImmediateBackend)
        limit = getattr(settings, "IMPORT_INLINE_MAX_ROWS", 500)
        if inline and batch.total_rows > limit:
            thread = threading.Thread(
                target=_run_in_thread, args=(batch.pk,), name=f"import-{batch.pk}", daemon=True
            )
            background_threads.append(thread)
            thread.start()
        else:
            process_import_batch.enqueue(batch.pk)

    transaction.on_commit(hand_over)


def _run_in_thread(batch_id):
    from .importing import run_batch

    try:
        run_batch(batch_id)
    except Exception:
        log.exception("import batch %s failed in its background thread", batch_id)
    finally:
        connection.close()
