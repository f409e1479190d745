from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path, re_path, register_converter

from orders.statuses import Action

from . import (
    api,
    imports,
    mappings,
    notify_views,
    products,
    tracking_sources,
    views,
    webhooks,
    workspace,
)
from .converters import OrderNumberConverter

register_converter(OrderNumberConverter, "number")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("merchant/", views.choose_merchant, name="choose_merchant"),
    path("status-guide/", views.status_guide, name="status_guide"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/actions/bulk/", views.bulk_action, name="bulk_action"),
    path("orders/export.csv", views.export_csv, name="export_csv"),
    path("list/columns/", workspace.list_columns, name="list_columns"),
    path("list/views/", workspace.saved_view_create, name="saved_view_create"),
    path("list/views/<int:view_id>/", workspace.saved_view_edit, name="saved_view_edit"),
    path("orders/<number:number>/", views.order_detail, name="order_detail"),
    path("orders/<number:number>/address/", views.order_address, name="order_address"),
    path("orders/<number:number>/notes/", workspace.order_note_add, name="order_note_add"),
    path(
        "orders/<number:number>/cancel/",
        views.order_action,
        {"action": Action.CANCEL},
        name="order_cancel",
    ),
    path(
        "orders/<number:number>/clean-sweep/",
        views.order_action,
        {"action": Action.CLEAN_SWEEP},
        name="order_clean_sweep",
    ),
    path(
        "orders/<number:number>/retry/",
        views.order_action,
        {"action": Action.RETRY},
        name="order_retry",
    ),
    # The merchant's products and ship-option mappings (issue 15).
    path("products/", products.products, name="products"),
    path("products/<int:pk>/connect/", products.product_connect, name="product_connect"),
    path("products/ship-options/", products.ship_option_save, name="ship_option_save"),
    path("products/retry/", products.products_retry, name="products_retry"),
    path(
        "orders/<number:number>/personalization-complete/",
        views.order_action,
        {"action": Action.COMPLETE_PERSONALIZATION},
        name="order_complete_personalization",
    ),
    # Carrier tracking updates (signed; see README "Operations, tracking and payments").
    path("webhooks/tracking/", webhooks.tracking_webhook, name="tracking_webhook"),
    # Tracking aggregators, each with its own signature scheme (docs/importing.md).
    path("webhooks/easypost/", tracking_sources.easypost_webhook, name="easypost_webhook"),
    path("webhooks/aftership/", tracking_sources.aftership_webhook, name="aftership_webhook"),
]

# --- order intake: CSV imports, new order by hand, JSON API (issue 4) ---
urlpatterns += [
    path("imports/", imports.upload, name="imports"),
    path("imports/template.csv", imports.template_csv, name="import_template"),
    path("imports/<int:pk>/", imports.batch_detail, name="import_batch"),
    path("imports/<int:pk>/errors.csv", imports.batch_errors_csv, name="import_errors"),
    path("imports/<int:pk>/mapping/", mappings.mapping_step, name="import_mapping"),
    path("imports/mappings/", mappings.mapping_list, name="import_mappings"),
    path(
        "imports/mappings/<int:pk>/forget/", mappings.mapping_forget, name="import_mapping_forget"
    ),
    path("api/v1/imports/<int:pk>", api.import_detail, name="api_import"),
    path("new-order/", imports.new_order, name="new_order"),
    path("new-order/line/", imports.new_order_line, name="new_order_line"),
    path("new-order/products/", imports.new_order_products, name="new_order_products"),
    path("drafts/<number:number>/submit/", imports.submit_draft, name="submit_draft"),
    re_path(r"^api/v1/orders/?$", api.orders, name="api_orders"),
    path("api/v1/orders/<number:number>/submit", api.order_submit_view, name="api_order_submit"),
    path(
        "api/v1/orders/<number:number>/personalization-complete",
        api.order_personalization_complete_view,
        name="api_order_personalization_complete",
    ),
    path("api/v1/orders/<number:number>", api.order_detail, name="api_order"),
]
# --- end of order intake ---

# --- telling merchants: webhook endpoints, e-mail choices, inbox (issue 13) ---
urlpatterns += [
    path("settings/webhooks/", notify_views.endpoints, name="webhook_endpoints"),
    path("settings/webhooks/<int:pk>/", notify_views.endpoint_detail, name="webhook_endpoint"),
    path(
        "settings/webhooks/<int:pk>/test/",
        notify_views.endpoint_action,
        {"action": "test"},
        name="webhook_test",
    ),
    path(
        "settings/webhooks/<int:pk>/rotate-secret/",
        notify_views.endpoint_action,
        {"action": "rotate"},
        name="webhook_rotate",
    ),
    path(
        "settings/webhooks/<int:pk>/toggle/",
        notify_views.endpoint_action,
        {"action": "toggle"},
        name="webhook_toggle",
    ),
    path(
        "settings/webhooks/<int:pk>/delete/",
        notify_views.endpoint_action,
        {"action": "delete"},
        name="webhook_delete",
    ),
    path(
        "settings/webhooks/<int:pk>/deliveries/<int:delivery_pk>/resend/",
        notify_views.delivery_resend_view,
        name="webhook_resend",
    ),
    path(
        "settings/notifications/", notify_views.notification_settings, name="notification_settings"
    ),
    path("inbox/", notify_views.inbox, name="inbox"),
    path("inbox/read/", notify_views.inbox_read, name="inbox_read"),
    path("inbox/bell/", notify_views.inbox_bell, name="inbox_bell"),
    re_path(r"^api/v1/webhooks/?$", notify_views.api_endpoints, name="api_webhooks"),
    path("api/v1/webhooks/<int:pk>", notify_views.api_endpoint, name="api_webhook"),
]
# --- end of telling merchants ---
