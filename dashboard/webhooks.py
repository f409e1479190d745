"""Machine endpoints called by outside systems. Only these are exempt from CSRF: they are
authenticated by a signature over the body instead of a session."""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders.tracking import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookRefused, receive_webhook

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def tracking_webhook(request):
    """POST /webhooks/tracking/: one signed carrier event (scheme in orders/tracking.py)."""
    try:
        result = receive_webhook(
            body=request.body,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            secret=settings.TRACKING_WEBHOOK_SECRET,
        )
    except WebhookRefused as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    except DatabaseError:
        # Nothing was stored (the transaction rolled back): carriers retry on a 503.
        logger.exception("tracking webhook: database unavailable")
        response = JsonResponse({"error": "Temporarily unavailable; retry later."}, status=503)
        response["Retry-After"] = "30"
        return response
    return JsonResponse(result.as_json())
