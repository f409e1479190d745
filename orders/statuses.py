"""The status catalog: the one place that knows every state, group, hold reason, payment
status and merchant action.

Templates, filters, the admin, the status guide and the state machine all read from here;
nothing else spells out a label, a stored value or a list of states (Status.SHIPPED, never
"shipped": tests/test_no_status_literals.py). The stored values are the SPEC's.

Over 500 lines on purpose: most of it is the merchant-facing prose of each state, hold reason
and action, and keeping every value with its words in one module is the point of a catalog.
"""

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

STOCK = "stock"
PRINT = "print"
BOTH = "both"
FLOW_CHOICES = [(STOCK, "Stock (warehouse)"), (PRINT, "Print on demand")]
# An order in Import Review longer than this is stuck (orders.models.queryset.STUCK_AFTER).
STUCK_MINUTES = 10


# --- the stored values, by name ------------------------------------------------------------
# Code outside this module never spells a status, group, hold reason or payment status as a
# string: it names it here (Status.SHIPPED, Hold.INVALID_ADDRESS). The tables below are
# written with these names, and _check_names() refuses to load if a name and the tables
# disagree (a state without a name, a name without a state, a name not spelled like its value).


class Status:
    """Every state's stored value (Order.status)."""

    do_not_call_in_templates = True  # templates read Status.SHIPPED; never call the class

    DRAFT = "draft"
    IMPORT_REVIEW = "import_review"
    ACTION_REQUIRED = "action_required"
    PROCESSING = "processing"
    PICK_IN_PROCESS = "pick_in_process"
    PICKED = "picked"
    DIGITIZING = "digitizing"
    UPLOADING = "uploading"
    PASSED = "passed"
    IN_PRODUCTION = "in_production"
    PRINTED = "printed"
    LABELED = "labeled"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_EXCEPTION = "delivery_exception"
    RETURNED = "returned"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CLEAN_SWEPT = "clean_swept"


class StatusGroup:
    """Every group's value: the dashboard's status tabs (the `group` filter)."""

    do_not_call_in_templates = True

    DRAFT = "draft"
    IMPORT_REVIEW = "import_review"
    ACTION_REQUIRED = "action_required"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CLEAN_SWEEP = "clean_sweep"


class Hold:
    """Every hold reason's stored value (Order.hold_reason while Action Required)."""

    do_not_call_in_templates = True

    INSUFFICIENT_INVENTORY = "insufficient_inventory"
    INVALID_ADDRESS = "invalid_address"
    PRODUCT_CONFIGURATION = "product_configuration"
    SPECIAL_REQUIREMENTS = "special_requirements"
    NOT_CONNECTED = "not_connected"
    PENDING_PERSONALIZATION = "pending_personalization"
    PENDING_APPROVAL = "pending_approval"
    PAYMENT_REFUSED = "payment_refused"


class Payment:
    """Every payment status's stored value (Order.payment_status)."""

    do_not_call_in_templates = True

    PENDING = "pending"
    PAID = "paid"
    REFUSED = "refused"
    CANCELED = "canceled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


def names_of(namespace):
    """{NAME: value} of one of the namespaces above."""
    return {k: v for k, v in vars(namespace).items() if k.isupper()}


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

    @property
    def owner(self):
        return hold_owner(self.value)

    @property
    def owner_label(self):
        return OWNER_LABELS[self.owner]


GROUPS = [
    Group(StatusGroup.DRAFT, "Draft", "neutral"),
    Group(StatusGroup.IMPORT_REVIEW, "Import Review", "info"),
    Group(StatusGroup.ACTION_REQUIRED, "Action Required", "warning"),
    Group(StatusGroup.PROCESSING, "Processing", "progress"),
    Group(StatusGroup.SHIPPED, "Shipped", "success"),
    Group(StatusGroup.FAILED, "Failed", "danger"),
    Group(StatusGroup.CANCELLED, "Cancelled", "muted"),
    Group(StatusGroup.CLEAN_SWEEP, "Clean Sweep", "muted", in_all=False),
]

STATES = [
    State(
        Status.DRAFT,
        "Draft",
        StatusGroup.DRAFT,
        BOTH,
        "Saved but not submitted. Nothing happens to a draft until someone submits it.",
        "Finish the order and submit it, or clean sweep it if it is no longer needed.",
    ),
    State(
        Status.IMPORT_REVIEW,
        "Import Review",
        StatusGroup.IMPORT_REVIEW,
        BOTH,
        "Just received. We are checking products, stock, address and payment and choosing the "
        "facility that will ship it. This normally takes a few minutes.",
        f"Nothing yet. If an order stays here longer than {STUCK_MINUTES} minutes it is flagged "
        "as stuck: contact support and quote the order number.",
    ),
    State(
        Status.ACTION_REQUIRED,
        "Action Required",
        StatusGroup.ACTION_REQUIRED,
        BOTH,
        "Fulfillment is blocked until the hold reason shown with the order is resolved.",
        "Read the hold reason: most can be fixed from the order page, then retried.",
    ),
    State(
        Status.PROCESSING,
        "Processing",
        StatusGroup.PROCESSING,
        BOTH,
        "Accepted and queued at its facility or production partner (print partners call this "
        "Created: received and logged).",
        "Nothing needed. You can still cancel it or change the address.",
    ),
    State(
        Status.PICK_IN_PROCESS,
        "Pick in Process",
        StatusGroup.PROCESSING,
        STOCK,
        "The warehouse is picking the items from the shelves.",
        "Nothing needed. You can still cancel it or change the address.",
    ),
    State(
        Status.PICKED,
        "Picked",
        StatusGroup.PROCESSING,
        STOCK,
        "All items are picked. Packing follows your packaging preferences and the facility's "
        "box selection.",
        "Nothing needed. You can still cancel it until it is labelled.",
    ),
    State(
        Status.DIGITIZING,
        "Digitizing",
        StatusGroup.PROCESSING,
        PRINT,
        "The design is being converted into stitch files for the embroidery machines.",
        "Nothing needed. You can still cancel it or change the address.",
    ),
    State(
        Status.UPLOADING,
        "Uploading",
        StatusGroup.PROCESSING,
        PRINT,
        "The artwork is being sent to the production partner.",
        "Nothing needed. You can still cancel it or change the address.",
    ),
    State(
        Status.PASSED,
        "Passed",
        StatusGroup.PROCESSING,
        PRINT,
        "The artwork passed the file check and is cleared for production.",
        "Nothing needed. You can still cancel it until it is printed.",
    ),
    State(
        Status.IN_PRODUCTION,
        "In Production",
        StatusGroup.PROCESSING,
        PRINT,
        "The items are being printed or made.",
        "Nothing needed. You can still cancel it until it is printed.",
    ),
    State(
        Status.PRINTED,
        "Printed",
        StatusGroup.PROCESSING,
        PRINT,
        "The items are made. From here the order can no longer be cancelled or changed.",
        "Nothing needed. You may request an address change, which is not guaranteed.",
    ),
    State(
        Status.LABELED,
        "Labeled",
        StatusGroup.PROCESSING,
        BOTH,
        "Packed and labelled, waiting for the carrier to collect it.",
        "Nothing needed. You may request an address change, which is not guaranteed.",
    ),
    State(
        Status.SHIPPED,
        "Awaiting carrier scan",
        StatusGroup.SHIPPED,
        BOTH,
        "Handed to the carrier, no tracking scan yet. First scans can lag because carriers "
        "do not scan every parcel at pickup.",
        "Wait for the first scan; the tracking link works as soon as the carrier scans it.",
    ),
    State(
        Status.IN_TRANSIT,
        "In Transit",
        StatusGroup.SHIPPED,
        BOTH,
        "Scanned by the carrier and moving toward the customer.",
        "Nothing needed. Share the tracking link with your customer.",
    ),
    State(
        Status.OUT_FOR_DELIVERY,
        "Out for Delivery",
        StatusGroup.SHIPPED,
        BOTH,
        "On the delivery vehicle today.",
        "Nothing needed.",
    ),
    State(
        Status.DELIVERED,
        "Delivered",
        StatusGroup.SHIPPED,
        BOTH,
        "The carrier reports the parcel delivered.",
        "Nothing needed. If the customer says otherwise, open the carrier's tracking page.",
        final=True,
    ),
    State(
        Status.DELIVERY_EXCEPTION,
        "Delivery Exception",
        StatusGroup.SHIPPED,
        BOTH,
        "The carrier could not deliver (no access, bad address, ...). It may try again, hold "
        "the parcel for pickup, or return it.",
        "Open the carrier's tracking page for details and contact your customer if needed.",
    ),
    State(
        Status.RETURNED,
        "Returned",
        StatusGroup.SHIPPED,
        BOTH,
        "The parcel came back to the sender: wrong address, refused, or not collected in time.",
        "Contact your customer; a new order is needed to send the items again.",
        final=True,
    ),
    State(
        Status.FAILED,
        "Failed",
        StatusGroup.FAILED,
        BOTH,
        "Something went wrong that this order cannot recover from, for example rejected "
        "artwork. The reason is shown on the order page.",
        "Cancel it, or clean sweep it and import a corrected order again.",
    ),
    State(
        Status.CANCELLED,
        "Cancelled",
        StatusGroup.CANCELLED,
        BOTH,
        "Stopped by you or declined by our staff. It will not be fulfilled, and importing the "
        "same order number again is refused.",
        "Nothing. To send the items, create an order with a new number.",
        final=True,
    ),
    State(
        Status.CLEAN_SWEPT,
        "Clean Swept",
        StatusGroup.CLEAN_SWEEP,
        BOTH,
        "Removed from the dashboard without cancelling, so the same order number can be "
        "imported again, for example after fixing a ship-option mapping.",
        "Import the order again when it is ready; the new import is a new row.",
        final=True,
    ),
]

HOLD_REASONS = [
    HoldReason(
        Hold.INSUFFICIENT_INVENTORY,
        "Insufficient inventory",
        "system / merchant",
        True,
        "No facility has enough stock to ship the whole order.",
        "Wait: the order is re-reviewed automatically when stock arrives. Or retry once you "
        "know stock is in.",
    ),
    HoldReason(
        Hold.INVALID_ADDRESS,
        "Invalid address",
        "merchant",
        True,
        "The shipping address is incomplete or does not look deliverable.",
        "Edit the address; the order goes back to review when you save it.",
    ),
    HoldReason(
        Hold.PRODUCT_CONFIGURATION,
        "Product configuration",
        "merchant",
        True,
        "An unknown SKU, an unmapped ship option, or products from both flows in one order.",
        "Fix the product or ship-option mapping, then retry; or clean sweep and import again.",
    ),
    HoldReason(
        Hold.SPECIAL_REQUIREMENTS,
        "Special requirements",
        "staff",
        False,
        "Our staff need to clarify a special requirement before fulfilling the order.",
        "Nothing: staff will release it, or contact support to speed it up.",
    ),
    HoldReason(
        Hold.NOT_CONNECTED,
        "Not connected",
        "merchant",
        True,
        "A product in the order is not set up for fulfillment.",
        "Connect the product for fulfillment, then retry.",
    ),
    HoldReason(
        Hold.PENDING_PERSONALIZATION,
        "Pending personalization",
        "customer / merchant",
        True,
        "The buyer has not finished personalising an item.",
        "When the buyer has finished, mark the personalization complete (on the order page or "
        "through the API): the order goes back to review.",
    ),
    HoldReason(
        Hold.PENDING_APPROVAL,
        "Pending approval",
        "staff",
        False,
        "The order is in manual review by our staff.",
        "Nothing: staff will approve it (back to review) or decline it (cancelled).",
    ),
    HoldReason(
        Hold.PAYMENT_REFUSED,
        "Payment refused",
        "merchant",
        True,
        "The payment for this order was refused.",
        "Retry once the payment succeeds; the order then goes back to review.",
    ),
]

# Whose move it is while an order is held, in the merchant's words (SPEC: hold owners).
YOU, US, CUSTOMER, SYSTEM = "you", "us", "customer", "system"
OWNER_LABELS = {
    YOU: "Waiting on you",
    US: "Waiting on us",
    CUSTOMER: "Waiting on your customer",
    SYSTEM: "Waiting on the system",
}
HOLD_OWNERS = {
    Hold.INSUFFICIENT_INVENTORY: YOU,  # until stock arrives, which re-reviews it by itself
    Hold.INVALID_ADDRESS: YOU,
    Hold.PRODUCT_CONFIGURATION: YOU,
    Hold.NOT_CONNECTED: YOU,
    Hold.PAYMENT_REFUSED: YOU,
    Hold.PENDING_PERSONALIZATION: CUSTOMER,
    Hold.SPECIAL_REQUIREMENTS: US,
    Hold.PENDING_APPROVAL: US,
}
# Outside holds: a failed order waits on the merchant's decision (cancel or clean sweep and
# import again), a delivery exception on the merchant contacting their customer.
STATE_OWNERS = {Status.FAILED: YOU, Status.DELIVERY_EXCEPTION: YOU}


def hold_owner(reason):
    """Whose move it is for a hold reason: YOU, US, CUSTOMER (or SYSTEM if unknown)."""
    return HOLD_OWNERS.get(reason, SYSTEM)


def reasons_owned_by(owner):
    return [h.value for h in HOLD_REASONS if hold_owner(h.value) == owner]


PAYMENT_STATUSES = [
    (Payment.PENDING, "Pending"),
    (Payment.PAID, "Paid"),
    (Payment.REFUSED, "Refused"),
    (Payment.CANCELED, "Canceled"),
    (Payment.PARTIALLY_REFUNDED, "Partially refunded"),
    (Payment.REFUNDED, "Refunded"),
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
    Status.DRAFT,
    Status.IMPORT_REVIEW,
    Status.ACTION_REQUIRED,
    Status.PROCESSING,
    Status.PICK_IN_PROCESS,
    Status.PICKED,
]
PRINT_BEFORE_PRINTED = [Status.DIGITIZING, Status.UPLOADING, Status.PASSED, Status.IN_PRODUCTION]
CANCELLABLE = [*STOCK_BEFORE_LABEL, *PRINT_BEFORE_PRINTED, Status.FAILED]
CLEAN_SWEEPABLE = [
    Status.DRAFT,
    Status.IMPORT_REVIEW,
    Status.ACTION_REQUIRED,
    Status.PROCESSING,
    Status.FAILED,
]
HOLDABLE = [Status.IMPORT_REVIEW, Status.PROCESSING, Status.PICK_IN_PROCESS, Status.PICKED]
FAILABLE = [Status.IMPORT_REVIEW, Status.UPLOADING, Status.PASSED, Status.IN_PRODUCTION]
SHIPPED_STATES = STATES_BY_GROUP[StatusGroup.SHIPPED]
FINAL_STATES = [s.value for s in STATES if s.final]
# Stock reserved at accept stays set aside through holds; it is released when the order
# leaves fulfillment without shipping, or goes back to review (which reserves afresh).
RELEASES_STOCK = [Status.CANCELLED, Status.CLEAN_SWEPT, Status.FAILED, Status.IMPORT_REVIEW]

# --- what a merchant can do to an order -------------------------------------------------------


class Action:
    """The merchant's actions on one order, by name. Each but complete_personalization is the
    Order transition of that name; complete_personalization completes the lines and then
    retries (orders/holds.py)."""

    do_not_call_in_templates = True

    CANCEL = "cancel"
    CLEAN_SWEEP = "clean_sweep"
    RETRY = "retry"
    COMPLETE_PERSONALIZATION = "complete_personalization"


@dataclass(frozen=True)
class MerchantAction:
    name: str
    label: str  # its button and confirmation title: "Cancel order"
    verb: str  # "Cancel 12 orders?", "Cancel order 1001?"
    done: str  # after it: "Order 1001 cancelled."
    past: str  # "can be cancelled", "can no longer be cancelled"
    consequence: str  # what the confirmation says will happen
    danger: bool = False
    bulk: bool = False  # offered for many orders at once on the order list
    explain_missing: bool = False  # the order page says in a line why its button is missing


MERCHANT_ACTIONS = [
    MerchantAction(
        Action.CANCEL,
        "Cancel order",
        "Cancel",
        "cancelled",
        "cancelled",
        "The order will not be fulfilled, and importing the same order number again will be "
        "refused. A pending payment is cancelled; a paid one is refunded.",
        danger=True,
        bulk=True,
        explain_missing=True,
    ),
    MerchantAction(
        Action.CLEAN_SWEEP,
        "Clean sweep",
        "Clean sweep",
        "clean swept: it left the dashboard",
        "clean swept",
        "The order leaves the dashboard without being cancelled, so the same order number can "
        "be imported again later (as a new order).",
        bulk=True,
        explain_missing=True,
    ),
    MerchantAction(
        Action.RETRY,
        "Retry",
        "Retry",
        "sent back to review",
        "retried",
        "The order goes back to Import Review and is checked again. If the problem is still "
        "there it comes back to Action Required.",
        bulk=True,
    ),
    MerchantAction(
        Action.COMPLETE_PERSONALIZATION,
        "Mark personalization complete",
        "Mark personalization complete for",
        "is marked as personalized and went back to review",
        "marked as personalized",
        "Do this once the buyer has finished personalising. Every item's personalization is "
        "marked complete and the order goes back to Import Review.",
    ),
]
MERCHANT_ACTION_BY_NAME = {a.name: a for a in MERCHANT_ACTIONS}
BULK_ACTION_NAMES = [a.name for a in MERCHANT_ACTIONS if a.bulk]

# Carrier progress order: an event never moves an order to an earlier rank.
TRACKING_RANK = {
    Status.SHIPPED: 0,
    Status.IN_TRANSIT: 1,
    Status.DELIVERY_EXCEPTION: 1,
    Status.OUT_FOR_DELIVERY: 2,
    Status.DELIVERED: 3,
    Status.RETURNED: 3,
}


def state(value):
    return STATE_BY_VALUE[value]


def group_of(status):
    return GROUP_BY_VALUE[STATE_BY_VALUE[status].group]


def hold_reason(value):
    return HOLD_BY_VALUE.get(value)


def _check_names():
    """Each namespace names exactly the values of its table, each spelled like its value."""
    for namespace, values in [
        (Status, [s.value for s in STATES]),
        (StatusGroup, [g.value for g in GROUPS]),
        (Hold, [h.value for h in HOLD_REASONS]),
        (Payment, [value for value, _label in PAYMENT_STATUSES]),
        (Action, [a.name for a in MERCHANT_ACTIONS]),
    ]:
        names = names_of(namespace)
        wrong = [name for name, value in names.items() if name != value.upper()]
        if wrong or sorted(names.values()) != sorted(values) or len(set(values)) != len(values):
            raise ImproperlyConfigured(
                f"statuses.{namespace.__name__} does not name exactly the values of its table "
                f"(missing: {sorted(set(values) - set(names.values()))}, extra: "
                f"{sorted(set(names.values()) - set(values))}, misspelled: {wrong})"
            )


_check_names()
