"""The operations staff's workplace. Status fields are read-only; they change only through the
transition buttons, which go through the same service as every other caller (row lock,
permission check, history).

One module per kind of page: reference.py (merchants, facilities, products, stock),
order.py (orders), bulk.py (bulk transitions on orders), records.py (history, imports,
tokens, audit); common.py holds what they share. Importing this package registers them all.
"""

from .bulk import BULK_FORMS, BULK_TRANSITIONS
from .common import ReadOnlyInline, RecordAdmin, RefusalsAsFormErrors, RefusalShown
from .order import FSM_POST_PARAM, TRANSITIONS, OrderAdmin, OrderChangeForm, WorkQueueFilter
from .records import (
    ApiTokenAdmin,
    AuditEntryAdmin,
    ImportBatchAdmin,
    StatusChangeAdmin,
    TrackingEventAdmin,
)
from .reference import (
    FulfillmentCenterAdmin,
    InventoryLevelAdmin,
    MembershipAdmin,
    MerchantAdmin,
    ProductAdmin,
    ShipOptionMappingAdmin,
)

__all__ = [
    "BULK_FORMS",
    "BULK_TRANSITIONS",
    "FSM_POST_PARAM",
    "TRANSITIONS",
    "ApiTokenAdmin",
    "AuditEntryAdmin",
    "FulfillmentCenterAdmin",
    "ImportBatchAdmin",
    "InventoryLevelAdmin",
    "MembershipAdmin",
    "MerchantAdmin",
    "OrderAdmin",
    "OrderChangeForm",
    "ProductAdmin",
    "ReadOnlyInline",
    "RecordAdmin",
    "RefusalShown",
    "RefusalsAsFormErrors",
    "ShipOptionMappingAdmin",
    "StatusChangeAdmin",
    "TrackingEventAdmin",
    "WorkQueueFilter",
]
