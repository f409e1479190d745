"""What exactly held an order, and how to say it.

Each hold stores a small JSON document in `Order.hold_detail`, written by the check that
failed (orders/review.py, the payment machine). `describe()` turns it into sentences in the
product's own words; the order page, the list row, the CSV export and the API all use it, so
a hold reads the same everywhere. Keys per reason:

- insufficient_inventory: `short`: [{sku, name, needed, available: {center code: units},
  restock: ISO date or null}]
- invalid_address: `fields`: [{field, label, problem, suggestion}]
- product_configuration: `unknown_skus`, `unmapped_ship_option`, `missing_ship_option`,
  `no_lines`, `mixed`: {"stock": [skus], "print": [skus]}
- not_connected: `products`: [{sku, name}]
- pending_personalization: `skus`
- payment_refused: `processor_reason`
- pending_approval / special_requirements: `checking`, `usual_time`
"""

from . import statuses as st
from .statuses import Hold, Status

ADDRESS_LABELS = {
    "ship_name": "Recipient",
    "address1": "Address line 1",
    "address2": "Address line 2",
    "city": "City",
    "region": "State / region",
    "postal_code": "Postal code",
    "country": "Country",
}

# What our team checks, and how long it usually takes, for the holds that are ours to clear.
STAFF_CHECKS = {
    Hold.PENDING_APPROVAL: {
        "checking": "Our team reviews orders flagged for manual approval (for example a high "
        "value or a first order from a new customer) before they are fulfilled.",
        "usual_time": "within 1 business day",
    },
    Hold.SPECIAL_REQUIREMENTS: {
        "checking": "Our team is checking with a production partner that this order can be "
        "made as specified.",
        "usual_time": "within 2 business days",
    },
}


def _skus(skus):
    return ", ".join(sorted(set(skus)))


def describe(reason, detail):
    """The hold's specifics as a list of short sentences; empty when nothing specific is
    known (an older hold, or a staff hold whose note says it)."""
    detail = detail if isinstance(detail, dict) else {}
    out = []
    if reason == Hold.INSUFFICIENT_INVENTORY:
        for item in detail.get("short", []):
            where = ", ".join(
                f"{units} at {code}" for code, units in sorted(item.get("available", {}).items())
            )
            sentence = f"{item['sku']}: {item['needed']} needed, available {where or 'nowhere'}."
            if item.get("restock"):
                sentence += f" More expected {item['restock']}."
            out.append(sentence)
        if detail.get("short") and not any(i.get("restock") for i in detail["short"]):
            out.append("No restock date is known yet.")
    elif reason == Hold.INVALID_ADDRESS:
        for item in detail.get("fields", []):
            sentence = f"{item.get('label') or item['field']}: {item['problem']}"
            if item.get("suggestion"):
                sentence += f" Suggested: {item['suggestion']}."
            out.append(sentence)
    elif reason == Hold.PRODUCT_CONFIGURATION:
        if detail.get("no_lines"):
            out.append("The order has no items.")
        if detail.get("unknown_skus"):
            out.append(f"Unknown SKU: {_skus(detail['unknown_skus'])} (not in your products).")
        if detail.get("mixed"):
            mixed = detail["mixed"]
            out.append(
                f"Mixes stock items ({_skus(mixed.get('stock', []))}) with print products "
                f"({_skus(mixed.get('print', []))}): split it into two orders."
            )
        if detail.get("missing_ship_option"):
            out.append("The order has no ship option.")
        if detail.get("unmapped_ship_option"):
            out.append(
                f"Ship option '{detail['unmapped_ship_option']}' is not mapped to a carrier "
                "service."
            )
    elif reason == Hold.NOT_CONNECTED:
        for item in detail.get("products", []):
            out.append(f"{item['sku']} ({item.get('name') or 'no name'}) is not connected.")
    elif reason == Hold.PENDING_PERSONALIZATION:
        if detail.get("skus"):
            out.append(f"Personalization not finished for {_skus(detail['skus'])}.")
    elif reason == Hold.PAYMENT_REFUSED:
        if detail.get("processor_reason"):
            out.append(f"The payment processor said: {detail['processor_reason']}")
    elif reason in STAFF_CHECKS:
        info = {**STAFF_CHECKS[reason], **detail}
        out.append(f"{info['checking']} Usually {info['usual_time']}.")
    return out


def summary(reason, detail):
    """One line for a list row or a CSV cell."""
    return " ".join(describe(reason, detail))


def of_order(order):
    """The sentences for an order on hold (nothing for other orders)."""
    if order.status != Status.ACTION_REQUIRED or not st.hold_reason(order.hold_reason):
        return []
    return describe(order.hold_reason, order.hold_detail)


# --- what the checks write ------------------------------------------------------------------


def product_configuration(*, no_lines=False, unknown=(), mixed=None, ship_option=None):
    detail = {}
    if no_lines:
        detail["no_lines"] = True
    if unknown:
        detail["unknown_skus"] = sorted(set(unknown))
    if mixed:
        detail["mixed"] = {flow: sorted(set(skus)) for flow, skus in mixed.items()}
    if ship_option == "":
        detail["missing_ship_option"] = True
    elif ship_option is not None:
        detail["unmapped_ship_option"] = ship_option
    return detail


def invalid_address(errors, suggestions):
    return {
        "fields": [
            {
                "field": field,
                "label": ADDRESS_LABELS.get(field, field),
                "problem": problem,
                "suggestion": suggestions.get(field, ""),
            }
            for field, problem in errors.items()
        ]
    }


def staff_check(reason):
    return dict(STAFF_CHECKS[reason])
