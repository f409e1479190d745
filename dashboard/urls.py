from django.contrib import admin
from django.urls import path, re_path
from django.views.generic import RedirectView

from . import api, imports

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
]

# --- order intake: CSV imports, new order by hand, JSON API (issue 4) ---
urlpatterns += [
    path("imports/", imports.upload, name="imports"),
    path("imports/template.csv", imports.template_csv, name="import_template"),
    path("imports/<int:pk>/", imports.batch_detail, name="import_batch"),
    path("new-order/", imports.new_order, name="new_order"),
    path("drafts/<str:number>/submit/", imports.submit_draft, name="submit_draft"),
    re_path(r"^api/v1/orders/?$", api.orders, name="api_orders"),
    path("api/v1/orders/<str:number>/submit", api.order_submit_view, name="api_order_submit"),
    path("api/v1/orders/<str:number>", api.order_detail, name="api_order"),
]
# --- end of order intake ---
