"""How the dashboard reads orders: the QuerySet of Order, and the row-level twins of its
rules (an order already in memory is asked the same question without a query)."""

import datetime

from django.db.models import Q
from django.utils import timezone

from .. import statuses as st
from ..integrity import UndeletableQuerySet
from ..statuses import Status, StatusGroup

STUCK_AFTER = datetime.timedelta(minutes=10)


def is_listed(status):
    """Is an order in this status in the dashboard's lists? Everything but clean-swept
    orders is (OrderQuerySet.visible() asks the same of the database)."""
    return status != Status.CLEAN_SWEPT


class OrderQuerySet(UndeletableQuerySet):
    def for_merchant(self, merchant):
        return self.filter(merchant=merchant)

    def visible(self):
        """What the dashboard lists by default: everything but clean-swept rows."""
        return self.exclude(status=Status.CLEAN_SWEPT)

    def stuck(self, now=None):
        now = now or timezone.now()
        return self.filter(status=Status.IMPORT_REVIEW, status_changed_at__lt=now - STUCK_AFTER)

    def late(self, now=None):
        now = now or timezone.now()
        return self.filter(status__in=LATE_CANDIDATES, ship_by__lt=now)

    def waiting_on(self, owner, now=None):
        """Orders whose next move is `owner`'s (statuses.YOU, US, CUSTOMER): held for a
        reason they own, plus for YOU failed orders and delivery exceptions, and for US
        orders stuck in review."""
        condition = Q(status=Status.ACTION_REQUIRED, hold_reason__in=st.reasons_owned_by(owner))
        states = [s for s, o in st.STATE_OWNERS.items() if o == owner]
        if states:
            condition |= Q(status__in=states)
        if owner == st.US:
            now = now or timezone.now()
            condition |= Q(status=Status.IMPORT_REVIEW, status_changed_at__lt=now - STUCK_AFTER)
        return self.filter(condition)

    def closing_soon(self, now=None):
        """Accepted orders whose point of no return (docs/deadlines.md) is within two hours."""
        from ..deadlines import CLOSING_SOON, OPEN_ACCEPTED

        now = now or timezone.now()
        return self.filter(
            status__in=OPEN_ACCEPTED, no_return_by__gte=now, no_return_by__lte=now + CLOSING_SOON
        )

    def needing_attention(self, now=None):
        now = now or timezone.now()
        return self.filter(
            Q(status__in=[Status.ACTION_REQUIRED, Status.DELIVERY_EXCEPTION, Status.FAILED])
            | Q(status=Status.IMPORT_REVIEW, status_changed_at__lt=now - STUCK_AFTER)
            | Q(status__in=LATE_CANDIDATES, ship_by__lt=now)
        )


# Accepted, not yet labelled: the orders a ship-by promise applies to.
LATE_CANDIDATES = [s for s in st.STATES_BY_GROUP[StatusGroup.PROCESSING] if s != Status.LABELED] + [
    Status.ACTION_REQUIRED
]
