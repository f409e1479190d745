"""A merchant's own product setup: connecting products for fulfillment and mapping the
store's ship options to carrier services, and the held orders that were waiting on each.

Who calls these: the dashboard's Products page (a merchant manager). Each change is audited
like an order action; retrying the waiting orders goes through order_retry, one order per
transaction, so one refused order never stops the others.
"""

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower, Trim

from . import audit
from .models import Order, Product, ShipOptionMapping, manages
from .services import ActionRefused, is_person, order_retry
from .statuses import Hold, Status

# Hold reasons a product or ship-option fix can clear.
PRODUCT_HOLDS = (Hold.NOT_CONNECTED, Hold.PRODUCT_CONFIGURATION)
MAX_RETRY = 500


def _require_manager(merchant_id, by):
    if is_person(by) and not manages(by, merchant_id):
        raise ActionRefused("Only a manager of this merchant can change products.")


def _record(action, by, merchant_id, reason=""):
    if audit.is_audited(by):
        audit.record(action, by=by, merchant=merchant_id, outcome=audit.DONE, reason=reason)


def product_set_connected(*, product, by, connected):
    """Merchant manager: connect a product for fulfillment (or disconnect it: orders with
    it are then held as not connected at review). Returns the product."""
    _require_manager(product.merchant_id, by)
    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        if locked.connected != connected:
            locked.connected = connected
            locked.save(update_fields=["connected"])
            _record(
                "product_connect" if connected else "product_disconnect",
                by,
                locked.merchant_id,
                locked.sku,
            )
    return locked


def ship_option_map(*, merchant, by, store_option, carrier, service):
    """Merchant manager: map a store's ship option (matched ignoring case and surrounding
    spaces) to a carrier and service; an existing mapping of the same option is updated."""
    _require_manager(merchant.pk, by)
    store_option = " ".join(str(store_option or "").split())
    carrier = str(carrier or "").strip()
    service = str(service or "").strip()
    errors = {}
    if not store_option:
        errors["store_option"] = "The ship option as your store names it is required."
    if not carrier:
        errors["carrier"] = "The carrier is required."
    if not service:
        errors["service"] = "The service is required."
    for name, value in (("store_option", store_option), ("carrier", carrier), ("service", service)):
        limit = ShipOptionMapping._meta.get_field(name).max_length
        if len(value) > limit or "\x00" in value:
            errors[name] = f"At most {limit} characters of text."
    if errors:
        exc = ActionRefused("The mapping has errors; nothing was changed.")
        exc.errors = errors
        raise exc
    with transaction.atomic():
        existing = (
            ShipOptionMapping.objects.select_for_update()
            .annotate(key=Lower(Trim("store_option")))
            .filter(merchant=merchant, key=store_option.lower())
            .first()
        )
        try:
            with transaction.atomic():
                if existing:
                    existing.carrier, existing.service = carrier, service
                    existing.save(update_fields=["carrier", "service"])
                    mapping = existing
                else:
                    mapping = ShipOptionMapping.objects.create(
                        merchant=merchant,
                        store_option=store_option,
                        carrier=carrier,
                        service=service,
                    )
        except IntegrityError as exc:
            raise ActionRefused("Someone mapped this ship option meanwhile; try again.") from exc
        _record("ship_option_map", by, merchant.pk, f"{store_option} -> {carrier} {service}")
    return mapping


def held_for_product(product):
    """Held orders of the product's merchant that name its SKU and are held for a reason a
    product fix can clear (not connected, unknown SKU, mixed flows), oldest first."""
    return (
        Order.objects.filter(
            merchant_id=product.merchant_id,
            status=Status.ACTION_REQUIRED,
            hold_reason__in=PRODUCT_HOLDS,
            lines__sku__iexact=product.sku,
        )
        .distinct()
        .order_by("created_at", "id")
    )


def held_for_ship_option(merchant, store_option):
    """Held orders whose ship option (ignoring case and spaces) had no mapping."""
    return (
        Order.objects.annotate(key=Lower(Trim("ship_option")))
        .filter(
            merchant=merchant,
            status=Status.ACTION_REQUIRED,
            hold_reason=Hold.PRODUCT_CONFIGURATION,
            key=" ".join(str(store_option).split()).lower(),
        )
        .order_by("created_at", "id")
    )


def unmapped_ship_options(merchant):
    """{ship option: held orders} for options held orders name that have no mapping."""
    mapped = {
        m.strip().lower()
        for m in ShipOptionMapping.objects.filter(merchant=merchant).values_list(
            "store_option", flat=True
        )
    }
    found = {}
    for option in Order.objects.filter(
        merchant=merchant, status=Status.ACTION_REQUIRED, hold_reason=Hold.PRODUCT_CONFIGURATION
    ).values_list("ship_option", flat=True)[:MAX_RETRY]:
        key = option.strip().lower()
        if key and key not in mapped:
            found.setdefault(option.strip(), 0)
            found[option.strip()] += 1
    return found


def orders_retry_waiting(*, orders, by):
    """Merchant manager: send each held order back to review (each in its own transaction).
    Returns (sent back, refused messages)."""
    done, refused = [], []
    for order in list(orders[:MAX_RETRY]):
        try:
            done.append(order_retry(order=order, by=by))
        except ActionRefused as exc:
            refused.append(exc.message)
    return done, refused
