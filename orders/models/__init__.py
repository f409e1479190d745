"""The order domain's models, one module per room:

- reference.py: merchants and their members, facilities, products, stock, ship options;
- queryset.py: how orders are read (OrderQuerySet and the row-level twins of its rules);
- order.py: the order, its lines and its kept status counts;
- machine.py: the order's two protected state machines (`status` and `payment_status`);
- records.py: history, tracking events, address changes and the audit log;
- intake.py: import batches, column mappings and API tokens;
- workspace.py: notes, saved views and list preferences;

and the outbox and merchant notifications in orders/event_models.py and orders/webhooks/.
Everything is importable from `orders.models` as before; the app label and migrations are
unchanged.
"""

# The order matters: each module imports those above it (isort would reorder them).
from .reference import (  # noqa: I001
    MANAGER,
    PRODUCT_KINDS,
    ROLE_CHOICES,
    VIEWER,
    FulfillmentCenter,
    InventoryLevel,
    Membership,
    Merchant,
    Product,
    ShipOptionMapping,
    keep_merchant_roles,
    manages,
    merchant_roles,
    validate_time_zone,
)
from .queryset import LATE_CANDIDATES, STUCK_AFTER, OrderQuerySet, is_listed
from .machine import OrderMachine, is_merchant_manager, is_staff, machines_only
from .order import ADDRESS_FIELDS, InsufficientStock, Order, OrderLine, StatusCount
from .records import AUDIT_OUTCOMES, AddressChange, AuditEntry, StatusChange, TrackingEvent
from .intake import (
    BATCH_DONE,
    BATCH_FAILED,
    BATCH_STATES,
    FILE_KINDS,
    IMPORT_SOURCES,
    ROW_OUTCOMES,
    ROW_REFUSED,
    ApiToken,
    ColumnMapping,
    ImportBatch,
    ImportRow,
)
from .workspace import ListPreference, OrderNote, SavedView

# The outbox and merchant notifications live in their own modules (issue 13); they import
# the models above, so they come last.
from ..event_models import EmailPreference, Event, EventRead, InboxState
from ..webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ADDRESS_FIELDS",
    "AUDIT_OUTCOMES",
    "BATCH_DONE",
    "BATCH_FAILED",
    "BATCH_STATES",
    "FILE_KINDS",
    "IMPORT_SOURCES",
    "LATE_CANDIDATES",
    "MANAGER",
    "PRODUCT_KINDS",
    "ROLE_CHOICES",
    "ROW_OUTCOMES",
    "ROW_REFUSED",
    "STUCK_AFTER",
    "VIEWER",
    "AddressChange",
    "ApiToken",
    "AuditEntry",
    "ColumnMapping",
    "DeliveryAttempt",
    "EmailPreference",
    "Event",
    "EventRead",
    "FulfillmentCenter",
    "ImportBatch",
    "ImportRow",
    "InboxState",
    "InsufficientStock",
    "InventoryLevel",
    "ListPreference",
    "Membership",
    "Merchant",
    "Order",
    "OrderLine",
    "OrderMachine",
    "OrderNote",
    "OrderQuerySet",
    "Product",
    "SavedView",
    "ShipOptionMapping",
    "StatusChange",
    "StatusCount",
    "TrackingEvent",
    "WebhookDelivery",
    "WebhookEndpoint",
    "is_listed",
    "is_merchant_manager",
    "is_staff",
    "keep_merchant_roles",
    "machines_only",
    "manages",
    "merchant_roles",
    "validate_time_zone",
]
