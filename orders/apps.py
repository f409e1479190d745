from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Fulfillment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .signals import review_requested
        from .tasks import request_review

        review_requested.connect(request_review, dispatch_uid="orders.review_requested")
