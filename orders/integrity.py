"""Nothing is lost: orders are never hard-deleted, and history rows are append-only.

These guards are on the models so that every caller (a view, the admin, the shell, a future
command) is stopped the same way. Database cascades, test rollbacks and flushes do not go
through Model.delete() or QuerySet.delete(), so they keep working.
"""

from django.db import models
from django.db.models.signals import pre_delete


class OrderNotDeletable(Exception):
    """Raised on any attempt to delete an order through the ORM."""


class HistoryIsAppendOnly(Exception):
    """Raised on any attempt to change or delete a history or audit row."""


ORDER_MESSAGE = (
    "Orders are never deleted: cancel or clean sweep them instead, so their history and "
    "number stay on record."
)


class UndeletableQuerySet(models.QuerySet):
    def delete(self):
        raise OrderNotDeletable(ORDER_MESSAGE)

    delete.alters_data = True
    delete.queryset_only = True


class UndeletableModel:
    """Mixin for Order: instance.delete() refuses."""

    def delete(self, *args, **kwargs):
        raise OrderNotDeletable(ORDER_MESSAGE)

    delete.alters_data = True


class AppendOnlyQuerySet(models.QuerySet):
    def delete(self):
        raise HistoryIsAppendOnly(f"{self.model.__name__} rows are append-only: never deleted.")

    delete.alters_data = True
    delete.queryset_only = True


class AppendOnlyModel:
    """Mixin for history-like models: a row is written once and then kept as it is."""

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise HistoryIsAppendOnly(
                f"{type(self).__name__} rows are append-only: an existing row is never changed."
            )
        return super().save(*args, **kwargs)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        raise HistoryIsAppendOnly(f"{type(self).__name__} rows are append-only: never deleted.")

    delete.alters_data = True


def _refuse_order_delete(sender, instance, **kwargs):
    raise OrderNotDeletable(ORDER_MESSAGE)


# Also a listener, so that Django's deletion collector loads whole orders when something
# they point to (a merchant, a facility) is deleted: it then answers with ProtectedError.
# Without any listener it would load orders with only their keys, and a deferred status
# field recurses in django-fsm.
pre_delete.connect(_refuse_order_delete, sender="orders.Order", dispatch_uid="order_never_deleted")
