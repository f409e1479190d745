from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from . import webhooks

urlpatterns = [
    path("admin/", admin.site.urls),
    # Carrier tracking updates (signed; see README "Operations, tracking and payments").
    path("webhooks/tracking/", webhooks.tracking_webhook, name="tracking_webhook"),
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
]
