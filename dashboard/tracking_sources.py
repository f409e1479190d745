"""Webhook endpoints of the tracking aggregators (EasyPost, AfterShip): each checks its own
signature with its own secret, then hands the events to orders/carrier_sources/. Exempt from
CSRF like our own tracking webhook: the signature over the body is the credential.

Answers: 200 with what was stored (a replay answers 200 too, with nothing new stored, so
the provider stops retrying), 400 for a body we cannot read, 401 for a missing or wrong
signature, 404 for an unknown tracking number, 503 when the source is not configured or
the database is unavailable (providers retry)."""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders.carrier_sources import aftership, easypost, receive
from orders.tracking import WebhookRefused

logger = logging.getLogger(__name__)


def _handle(request, source, secret):
    try:
        source.verify(secret, request.headers.get(source.SIGNATURE_HEADER), request.body)
        result = receive(source.parse(request.body))
    except WebhookRefused as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    except DatabaseError:
        logger.exception("%s webhook: database unavailable", source.NAME)
        response = JsonResponse({"error": "Temporarily unavailable; retry later."}, status=503)
        response["Retry-After"] = "30"
        return response
    return JsonResponse(result.as_json())


@csrf_exempt
@require_POST
def easypost_webhook(request):
    """POST /webhooks/easypost/: an EasyPost tracker event (orders/carrier_sources/easypost.py)."""
    return _handle(request, easypost, settings.EASYPOST_WEBHOOK_SECRET)


@csrf_exempt
@require_POST
def aftership_webhook(request):
    """POST /webhooks/aftership/: an AfterShip tracking webhook (carrier_sources/aftership.py)."""
    return _handle(request, aftership, settings.AFTERSHIP_WEBHOOK_SECRET)
