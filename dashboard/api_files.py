"""Files through the JSON API: a store's CSV posted as is to `POST /api/v1/orders` with
`Content-Type: text/csv` (our template, a Shopify orders export, or any CSV with
`?mapping=<saved mapping name>` or whose columns a saved mapping fits), and the import's
report at `GET /api/v1/imports/<id>`. Same token rules as dashboard/api.py: another
merchant's import is a 404."""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.urls import reverse

from orders import audit
from orders.formats import identify
from orders.importing import ImportFileError, create_batch, decode_upload
from orders.models import ROW_REFUSED, ImportBatch
from orders.tasks import enqueue_batch

CSV_TYPES = {"text/csv", "application/csv"}
REPORT_ROWS = 1000


def wants_file(request):
    return request.content_type in CSV_TYPES


def import_file(request):
    """POST a CSV for the token's merchant: 202 with the import (its report when it already
    ran), 400 when the file as a whole cannot be read."""
    token = request.api_token
    try:
        text = decode_upload(request.body)
        kind, mapping = identify(token.merchant, text, request.GET.get("mapping", "") or None)
        batch = create_batch(
            merchant=token.merchant,
            content=text,
            by=audit.api_actor(token),
            filename=request.GET.get("filename", "")[:255] or "api upload",
            source="api",
            kind=kind,
            mapping=mapping,
        )
    except RequestDataTooBig:
        return JsonResponse({"error": "The file is too large for one request."}, status=413)
    except ImportFileError as exc:
        return JsonResponse({"error": exc.message}, status=400)
    enqueue_batch(batch)
    batch = ImportBatch.objects.select_related("mapping").get(pk=batch.pk)
    return JsonResponse(batch_json(batch), status=202)


def batch_json(batch):
    data = {
        "id": batch.pk,
        "url": reverse("api_import", args=[batch.pk]),
        "state": batch.state,
        "read_as": batch.read_as,
        "total_rows": batch.total_rows,
        "created": batch.created,
        "reimported": batch.reimported,
        "skipped": batch.skipped,
        ROW_REFUSED: batch.refused,
        "errors": batch.errors,
        "message": batch.message or None,
    }
    if batch.finished:
        data["report"] = [
            {
                "row": r.row,
                "number": r.number or None,
                "outcome": r.outcome,
                "field": r.field or None,
                "message": r.message or None,
            }
            for r in batch.rows.exclude(outcome__in=["created", "reimported"])[:REPORT_ROWS]
        ]
    return data


def import_detail(request, pk):
    """GET an import of the token's merchant (made through the API, the dashboard or the
    command); another merchant's is a 404. Called by api.import_detail once authenticated."""
    batch = (
        ImportBatch.objects.filter(pk=pk, merchant=request.api_token.merchant)
        .select_related("mapping")
        .first()
    )
    if batch is None:
        return JsonResponse({"error": f"No import {pk}."}, status=404)
    return JsonResponse(batch_json(batch))
