"""How a store's text finds our reference data: one rule for SKUs and ship options.

Stores send SKUs and ship option names as their own systems spell them ("mug-11 ",
"standard"), so both match ignoring case and surrounding spaces (SPEC, Import). The order
line and the order keep the text as the store sent it; only the look-up is folded. The
importer (through order_create), review, and the admin's hand-over all come through here.

When a merchant has two products whose SKUs differ only in case, the one spelled exactly as
the line is preferred; otherwise the lowest id wins, so the choice never changes.
"""

from django.db.models import Q
from django.db.models.functions import Lower, Trim

from .models import Product, ShipOptionMapping


def match_key(text):
    """The folded form two spellings of one SKU or ship option share."""
    return (text or "").strip().lower()


def products_by_sku(merchant_id, skus):
    """{sku as given: Product} for those of `skus` that name a product of the merchant."""
    skus = {s for s in skus if s}
    if not skus:
        return {}
    keys = {match_key(s) for s in skus}
    # LOWER() in SQLite folds ASCII only: the exact spellings are asked for too, and Python
    # applies the rule itself below.
    candidates = (
        Product.objects.annotate(match=Lower(Trim("sku")))
        .filter(Q(match__in=keys) | Q(sku__in=skus), merchant_id=merchant_id)
        .order_by("id")
    )
    by_key, exact = {}, {}
    for product in candidates:
        by_key.setdefault(match_key(product.sku), product)
        exact[product.sku] = product
    found = {}
    for sku in skus:
        product = exact.get(sku) or by_key.get(match_key(sku))
        if product is not None:
            found[sku] = product
    return found


def mappings_by_option(merchant_ids):
    """{(merchant id, folded ship option): ShipOptionMapping} for these merchants."""
    found = {}
    for mapping in ShipOptionMapping.objects.filter(merchant_id__in=set(merchant_ids)).order_by(
        "id"
    ):
        found.setdefault((mapping.merchant_id, match_key(mapping.store_option)), mapping)
    return found


def mapping_for(mappings, merchant_id, option):
    """The mapping of `option` in a mappings_by_option() answer, or None."""
    return mappings.get((merchant_id, match_key(option)))
