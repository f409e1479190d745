"""Import batches: an upload stored as a batch, then run by the worker (or the command),
which imports it, keeps its per-row report and reviews the orders it created."""

import logging

from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from .. import audit, effects, events
from ..bulkinsert import insert_rows
from ..models import BATCH_DONE, BATCH_FAILED, ROW_REFUSED, ImportBatch, ImportRow, Merchant
from ..statuses import Status
from .format import ImportFileError
from .importer import import_orders

log = logging.getLogger("orders.importing")

# --- batches -----------------------------------------------------------------------------


def create_batch(
    *, merchant, content, by=None, filename="", source="csv", kind="template", mapping=None
):
    """Store an upload as a queued batch after checking the file as a whole; raises
    ImportFileError with a message for the uploader otherwise. `kind` and `mapping` say how
    its rows are read (orders/formats/)."""
    from ..formats import count

    total = count(content, kind, mapping)
    batch = ImportBatch.objects.create(
        merchant=merchant,
        created_by=by if getattr(by, "pk", None) else None,
        source=source,
        filename=filename[:255],
        content=content,
        total_rows=total,
        kind=kind,
        mapping=mapping,
    )
    if audit.is_audited(by):
        # The batch's orders are recorded when it runs, under this entry's IP and page.
        audit.note(batch=batch.pk)
        audit.record(
            "import_upload",
            by=by,
            merchant=merchant,
            outcome=audit.DONE,
            reason=f"{filename or 'upload'}: {total} rows queued as batch {batch.pk}",
        )
    return batch


def run_batch(batch_id):
    """The batch task (or the command): import a stored batch, store its report, then review
    the orders it created, updating the progress the batch page shows. Running it again on
    a finished batch does nothing."""
    claimed = ImportBatch.objects.filter(pk=batch_id, state="queued").update(
        state="running", started_at=timezone.now()
    )
    if not claimed:
        return None
    batch = ImportBatch.objects.select_related("merchant", "created_by").get(pk=batch_id)
    # The batch's events (imported, held, accepted...) carry it, so that e-mail can
    # summarise them in one message when the batch has finished.
    with effects.for_batch(batch):
        try:
            return _run_claimed_batch(batch)
        finally:
            _announce_finished(batch)


def _announce_finished(batch):
    """The import.finished event, once the batch is done or failed."""
    batch = ImportBatch.objects.get(pk=batch.pk)
    if not batch.finished:
        return
    effects.record_event(
        events.IMPORT_FINISHED,
        merchant=batch.merchant_id,
        batch=batch,
        data={
            "import": {
                "id": batch.pk,
                "filename": batch.filename,
                "state": batch.state,
                "message": batch.message,
                "total_rows": batch.total_rows,
                "created": batch.created,
                "reimported": batch.reimported,
                "skipped": batch.skipped,
                ROW_REFUSED: batch.refused,
                "errors": batch.errors,
                "url": events.site_url(reverse("import_batch", args=[batch.pk])),
            }
        },
    )


def _run_claimed_batch(batch):
    from ..formats import read_batch
    from ..review import review_orders
    from ..tasks import reviews_deferred

    try:
        reading = read_batch(batch)
        inputs = reading.inputs
        by = batch.created_by or f"import batch {batch.pk}"
        counts = dict.fromkeys(["created", "reimported", "skipped", ROW_REFUSED, "errors"], 0)
        to_review = []

        def store(outcomes, rows_done):
            insert_rows(_report_row(batch, o) for o in outcomes)
            for o in outcomes:
                kind = "errors" if o.outcome == "error" else o.outcome
                if kind in counts:  # notes are reported, not counted
                    counts[kind] += 1
                if o.ok and o.order.status == Status.IMPORT_REVIEW:
                    to_review.append(o.order.pk)
            ImportBatch.objects.filter(pk=batch.pk).update(processed_rows=rows_done, **counts)

        if reading.notes:  # what the file's reader left out on purpose, and why
            store(reading.notes, 0)

        # The batch reviews its own orders below, in one pass with shared reference data,
        # instead of one task per order.
        with reviews_deferred(), audit.batch_origin(batch):
            import_orders(merchant=batch.merchant, inputs=inputs, by=by, on_chunk=store)
        ImportBatch.objects.filter(pk=batch.pk).update(orders_to_review=len(to_review))

        def reviewed(n):
            ImportBatch.objects.filter(pk=batch.pk).update(orders_reviewed=F("orders_reviewed") + n)

        review_orders(to_review, on_progress=reviewed)
        ImportBatch.objects.filter(pk=batch.pk).update(state=BATCH_DONE, finished_at=timezone.now())
    except ImportFileError as exc:
        _fail(batch, exc.message)
    except Exception:
        log.exception("import batch %s failed", batch.pk)
        _fail(batch, "The import stopped because of an internal error; support has the details.")
        raise
    return batch.pk


def _fail(batch, message):
    ImportBatch.objects.filter(pk=batch.pk).update(
        state=BATCH_FAILED, message=message, finished_at=timezone.now()
    )


def _report_row(batch, outcome):
    return ImportRow(
        batch=batch,
        row=outcome.row,
        number=outcome.number[:200],
        outcome=outcome.outcome,
        field=outcome.field,
        message=outcome.message,
        order=outcome.order,
        earlier=outcome.earlier,
    )


def merchant_by_slug(slug):
    return Merchant.objects.get(slug=slug)
