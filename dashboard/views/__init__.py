"""The merchant dashboard. Views parse the request, ask dashboard/access.py what this user
may see, call a QuerySet or a service from orders/, and render. Changes are POST only, go
through orders/services.py and report with the messages framework.

One module per page: account.py (sign in, landing, choosing a merchant, the status guide),
listing.py (the order list), bulk.py (bulk actions), export.py (the CSV export), order.py
(the order page and its actions); common.py holds what they share. dashboard/urls.py reads
the views from here."""

from orders.text import safe_cell

from .account import LoginView, choose_merchant, home, status_guide
from .bulk import BULK_LIMIT, bulk_action, bulk_summary
from .common import ACTIONS, REFUSALS, SERVICES, use_merchant_zone
from .export import EXPORT_CHUNK, EXPORT_COLUMNS, export_csv
from .listing import PAGE_SIZE, order_list
from .order import EXPLAINED, order_action, order_address, order_detail

__all__ = [
    "ACTIONS",
    "BULK_LIMIT",
    "EXPLAINED",
    "EXPORT_CHUNK",
    "EXPORT_COLUMNS",
    "PAGE_SIZE",
    "REFUSALS",
    "SERVICES",
    "LoginView",
    "bulk_action",
    "bulk_summary",
    "choose_merchant",
    "export_csv",
    "home",
    "order_action",
    "order_address",
    "order_detail",
    "order_list",
    "safe_cell",
    "status_guide",
    "use_merchant_zone",
]
