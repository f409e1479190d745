"""The status catalog: the one place that knows every state, group and hold reason.

Templates, filters, the admin, the status guide and the state machine all read from here;
nothing else spells out a label or a list of states. The stored values are the SPEC's.
"""

from dataclasses import dataclass

STOCK = "stock"
PRINT = "print"
BOTH = "both"
FLOW_CHOICES = [(STOCK, "Stock (warehouse)"), (PRINT, "Print on demand")]


@dataclass(frozen=True)
class Group:
    value: str
    label: str
    tone: str  # drives the badge colour; the badge always carries the label as text
    in_all: bool = True  # shown under the "All" tab


@dataclass(frozen=True)
class State:
    value: str
    label: str
    group: str
    flow: str
    explanation: str
    what_you_can_do: str
    final: bool = False


@dataclass(frozen=True)
class HoldReason:
    value: str
    label: str
    resolved_by: str
    merchant_can_retry: bool
    explanation: str
    what_you_can_do: str


GROUPS = [
    Group("draft", "Draft", "neutral"),
    Group("import_review", "Import Review", "info"),
    Group("action_required", "Action Required", "warning"),
    Group("processing", "Processing", "progress"),
    Group("shipped", "Shipped", "success"),
    Group("failed", "Failed", "danger"),
    Group("cancelled", "Cancelled", "muted"),
    Group("clean_sweep", "Clean Sweep", "muted", in_all=False),
]

STATES = [
    State(
        "draft",
        "Draft",
        "draft",
        BOTH,
        "Saved but not submitted. Nothing happens to a draft until someone submits it.",
        "Finish the order and submit it, or clean sweep it if it is no longer needed.",
    ),
    State(
        "import_review",
        "Import Review",
        "import_review",
        BOTH,
        "Just received. We are checking products, stock, address and payment and choosing the "
        "facility that will ship it. This normally takes a few minutes.",
        "Nothing yet. If an order stays here longer than 10 minutes it is flagged as stuck: "
        "contact support and quote the order number.",
    ),
    State(
        "action_required",
        "Action Required",
        "action_required",
        BOTH,
        "Fulfillment is blocked until the hold reason shown with the order is resolved.",
        "Read the hold reason: most can be fixed from the order page, then retried.",
    ),
    State(
        "processing",
        "Processing",
        "processing",
        BOTH,
        "Accepted and queued at its facility or production partner (print partners call this "
        "Created: received and logged).",
        "Nothing needed. You can still cancel it or change the address.",
    ),
    State(
        "pick_in_process",
        "Pick in Process",
        "processing",
        STOCK,
        "The warehouse is picking the items from the shelves.",
        "Nothing needed. You can still cancel it or change the address.",
    ),
    State(
        "picked",
        "Picked",
        "processing",
        STOCK,
        "All items are picked. Packing follows your packaging preferences and the facility's "
        "box selection.",
        "Nothing needed. You can still cancel it until it is labelled.",
    ),
    State(
        "digitizing",
        "Digitizing",
        "processing",
        PRINT,
        "The design is being converted into stitch files for the embroidery machines.",
        "Nothing needed. You can still cancel it or change the address.",
    ),
    State(
        "uploading",
        "Uploading",
        "processing",
        PRINT,
        "The artwork is being sent to the production partner.",
        "Nothing needed. You can still cancel it or change the address.",
    ),
    State(
        "passed",
        "Passed",
        "processing",
        PRINT,
        "The artwork passed the file check and is cleared for production.",
        "Nothing needed. You can still cancel it until it is printed.",
    ),
    State(
        "in_production",
        "In Production",
        "processing",
        PRINT,
        "The items are being printed or made.",
        "Nothing needed. You can still cancel it until it is printed.",
    ),
    State(
        "printed",
        "Printed",
        "processing",
        PRINT,
        "The items are made. From here the order can no longer be cancelled or changed.",
        "Nothing needed. You may request an address change, which is not guaranteed.",
    ),
    State(
        "labeled",
        "Labeled",
        "processing",
        BOTH,
        "Packed and labelled, waiting for the carrier to collect it.",
        "Nothing needed. You may request an address change, which is not guaranteed.",
    ),
    State(
        "shipped",
        "Awaiting carrier scan",
        "shipped",
        BOTH,
        "Handed to the carrier, no tracking scan yet. First scans can lag because carriers "
        "do not scan every parcel at pickup.",
        "Wait for the first scan; the tracking link works as soon as the carrier scans it.",
    ),
    State(
        "in_transit",
        "In Transit",
        "shipped",
        BOTH,
        "Scanned by the carrier and moving toward the customer.",
        "Nothing needed. Share the tracking link with your customer.",
    ),
    State(
        "out_for_delivery",
        "Out for Delivery",
        "shipped",
        BOTH,
        "On the delivery vehicle today.",
        "Nothing needed.",
    ),
    State(
        "delivered",
        "Delivered",
        "shipped",
        BOTH,
        "The carrier reports the parcel delivered.",
        "Nothing needed. If the customer says otherwise, open the carrier's tracking page.",
        final=True,
    ),
    State(
        "delivery_exception",
        "Delivery Exception",
        "shipped",
        BOTH,
        "The carrier could not deliver (no access, bad address, ...). It may try again, hold "
        "the parcel for pickup, or return it.",
        "Open the carrier's tracking page for details and contact your customer if needed.",
    ),
    State(
        "returned",
        "Returned",
        "shipped",
        BOTH,
        "The parcel came back to the sender: wrong address, refused, or not collected in time.",
        "Contact your customer; a new order is needed to send the items again.",
        final=True,
    ),
    State(
        "failed",
        "Failed",
        "failed",
        BOTH,
        "Something went wrong that this order cannot recover from, for example rejected "
        "artwork. The reason is shown on the order page.",
        "Cancel it, or clean sweep it and import a corrected order again.",
    ),
    State(
        "cancelled",
        "Cancelled",
        "cancelled",
        BOTH,
        "Stopped by you or declined by our staff. It will not be fulfilled, and importing the "
        "same order number again is refused.",
        "Nothing. To send the items, create an order with a new number.",
        final=True,
    ),
    State(
        "clean_swept",
        "Clean Swept",
        "clean_sweep",
        BOTH,
        "Removed from the dashboard without cancelling, so the same order number can be "
        "imported again, for example after fixing a ship-option mapping.",
        "Import the order again when it is ready; the new import is a new row.",
        final=True,
    ),
]

HOLD_REASONS = [
    HoldReason(
        "insufficient_inventory",
        "Insufficient inventory",
        "system / merchant",
        True,
        "No facility has enough stock to ship the whole order.",
        "Wait: the order is re-reviewed automatically when stock arrives. Or retry once you "
        "know stock is in.",
    ),
    HoldReason(
        "invalid_address",
        "Invalid address",
        "merchant",
        True,
        "The shipping address is incomplete or does not look deliverable.",
        "Edit the address; the order goes back to review when you save it.",
    ),
    HoldReason(
        "product_configuration",
        "Product configuration",
        "merchant",
        True,
        "An unknown SKU, an unmapped ship option, or products from both flows in one order.",
        "Fix the product or ship-option mapping, then retry; or clean sweep and import again.",
    ),
    HoldReason(
        "special_requirements",
        "Special requirements",
        "staff",
        False,
        "Our staff need to clarify a special requirement before fulfilling the order.",
        "Nothing: staff will release it, or contact support to speed it up.",
    ),
    HoldReason(
        "not_connected",
        "Not connected",
        "merchant",
        True,
        "A product in the order is not set up for fulfillment.",
        "Connect the product for fulfillment, then retry.",
    ),
    HoldReason(
        "pending_personalization",
        "Pending personalization",
        "customer / merchant",
        True,
        "The buyer has not finished personalising an item.",
        "When the buyer has finished, mark the personalization complete (on the order page or "
        "through the API): the order goes back to review.",
    ),
    HoldReason(
        "pending_approval",
        "Pending approval",
        "staff",
        False,
        "The order is in manual review by our staff.",
        "Nothing: staff will approve it (back to review) or decline it (cancelled).",
    ),
    HoldReason(
        "payment_refused",
        "Payment refused",
        "merchant",
        True,
        "The payment for this order was refused.",
        "Retry once the payment succeeds; the order then goes back to review.",
    ),
]

PAYMENT_STATUSES = [
    ("pending", "Pending"),
    ("paid", "Paid"),
    ("refused", "Refused"),
    ("canceled", "Canceled"),
    ("partially_refunded", "Partially refunded"),
    ("refunded", "Refunded"),
]

GROUP_BY_VALUE = {g.value: g for g in GROUPS}
STATE_BY_VALUE = {s.value: s for s in STATES}
HOLD_BY_VALUE = {h.value: h for h in HOLD_REASONS}
PAYMENT_LABELS = dict(PAYMENT_STATUSES)

STATUS_CHOICES = [(s.value, s.label) for s in STATES]
GROUP_CHOICES = [(g.value, g.label) for g in GROUPS]
HOLD_REASON_CHOICES = [(h.value, h.label) for h in HOLD_REASONS]

# Which states make up each group, in lifecycle order.
STATES_BY_GROUP = {g.value: [s.value for s in STATES if s.group == g.value] for g in GROUPS}
STATES_IN_ALL = [s.value for s in STATES if GROUP_BY_VALUE[s.group].in_all]

# Where a transition's source lists come from: named sets, each derived from the table above.
MERCHANT_RETRY_REASONS = [h.value for h in HOLD_REASONS if h.merchant_can_retry]
STOCK_BEFORE_LABEL = [
    "draft",
    "import_review",
    "action_required",
    "processing",
    "pick_in_process",
    "picked",
]
PRINT_BEFORE_PRINTED = ["digitizing", "uploading", "passed", "in_production"]
CANCELLABLE = [*STOCK_BEFORE_LABEL, *PRINT_BEFORE_PRINTED, "failed"]
CLEAN_SWEEPABLE = ["draft", "import_review", "action_required", "processing", "failed"]
HOLDABLE = ["import_review", "processing", "pick_in_process", "picked"]
FAILABLE = ["import_review", "uploading", "passed", "in_production"]
SHIPPED_STATES = STATES_BY_GROUP["shipped"]
FINAL_STATES = [s.value for s in STATES if s.final]
# Stock reserved at accept stays set aside through holds; it is released when the order
# leaves fulfillment without shipping, or goes back to review (which reserves afresh).
RELEASES_STOCK = ["cancelled", "clean_swept", "failed", "import_review"]

# Carrier progress order: an event never moves an order to an earlier rank.
TRACKING_RANK = {
    "shipped": 0,
    "in_transit": 1,
    "delivery_exception": 1,
    "out_for_delivery": 2,
    "delivered": 3,
    "returned": 3,
}


def state(value):
    return STATE_BY_VALUE[value]


def group_of(status):
    return GROUP_BY_VALUE[STATE_BY_VALUE[status].group]


def hold_reason(value):
    return HOLD_BY_VALUE.get(value)
