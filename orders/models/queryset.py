"""How the dashboard reads orders: the rules that flag an order (stuck, late, whose move it
is, needing attention, closing soon), each defined once here in its two forms side by side:
a condition the database answers for many orders (`*_q`, read by OrderQuerySet, the lists,
the counts and the export) and the same rule on one order's values (read by Order, the list's
rows, the order page and the API). tests/test_time_flags.py checks that the two agree.
"""

import datetime

from django.db.models import Q
from django.utils import timezone

from .. import statuses as st
from ..deadlines import CLOSING_SOON, OPEN_ACCEPTED
from ..integrity import UndeletableQuerySet
from ..statuses import Status, StatusGroup

STUCK_AFTER = datetime.timedelta(minutes=st.STUCK_MINUTES)
# Accepted, not yet labelled: the orders a ship-by promise applies to.
LATE_CANDIDATES = [s for s in st.STATES_BY_GROUP[StatusGroup.PROCESSING] if s != Status.LABELED] + [
    Status.ACTION_REQUIRED
]
# Beside stuck and late orders, these need someone to act whoever's move it is.
ATTENTION_STATES = [Status.ACTION_REQUIRED, Status.DELIVERY_EXCEPTION, Status.FAILED]


def is_listed(status):
    """Is an order in this status in the dashboard's lists? Everything but clean-swept
    orders is (OrderQuerySet.visible() asks the same of the database)."""
    return status != Status.CLEAN_SWEPT


# --- stuck: in Import Review for longer than review ever takes -------------------------------


def stuck_q(now):
    return stuck_since_q(now - STUCK_AFTER)


def stuck_since_q(before):
    """In Import Review since before `before` (stuck_q with the moment computed apart, for a
    statement built once: dashboard/views/listing.py)."""
    return Q(status=Status.IMPORT_REVIEW, status_changed_at__lt=before)


def is_stuck(status, status_changed_at, now):
    return status == Status.IMPORT_REVIEW and status_changed_at < now - STUCK_AFTER


# --- late: past its ship-by time and not labelled yet -----------------------------------------


def late_q(now):
    return Q(status__in=LATE_CANDIDATES, ship_by__lt=now)


def is_late(status, ship_by, now):
    return bool(ship_by and status in LATE_CANDIDATES and ship_by < now)


# --- whose move it is: held for a reason someone owns, failed, or a delivery exception --------


def owner_of(status, hold_reason):
    """statuses.YOU, US or CUSTOMER whose move it is, by status (and hold reason) alone; None
    when the order is simply on its way. Stuck orders are also US's (waiting_on_q)."""
    if status == Status.ACTION_REQUIRED:
        return st.hold_owner(hold_reason)
    return st.STATE_OWNERS.get(status)


def owned_q(owner):
    """The database form of owner_of(status, hold_reason) == owner."""
    condition = Q(status=Status.ACTION_REQUIRED, hold_reason__in=st.reasons_owned_by(owner))
    states = [s for s, o in st.STATE_OWNERS.items() if o == owner]
    if states:
        condition |= Q(status__in=states)
    return condition


def count_owned(counts, owner):
    """How many orders owner_of() gives to `owner`, from the kept status counts
    ({(status, hold_reason): n}, orders/counts.py): the counts' form of owned_q()."""
    return sum(n for (status, reason), n in counts.items() if owner_of(status, reason) == owner)


def waiting_on_q(owner, now):
    """Orders whose next move is `owner`'s: those it owns, and for US the stuck ones."""
    condition = owned_q(owner)
    if owner == st.US:
        condition |= stuck_q(now)
    return condition


def is_waiting_on(owner, status, hold_reason, status_changed_at, now):
    return owner_of(status, hold_reason) == owner or (
        owner == st.US and is_stuck(status, status_changed_at, now)
    )


# --- needing attention: held, failed, a delivery exception, stuck or late --------------------


def attention_q(now):
    return Q(status__in=ATTENTION_STATES) | stuck_q(now) | late_q(now)


def needs_attention(status, status_changed_at, ship_by, now):
    return (
        status in ATTENTION_STATES
        or is_stuck(status, status_changed_at, now)
        or is_late(status, ship_by, now)
    )


# --- closing soon: the point of no return (docs/deadlines.md) is within two hours ------------


def closing_soon_q(now):
    return closing_between_q(now, now + CLOSING_SOON)


def closing_between_q(start, end):
    """Accepted orders whose point of no return falls between `start` and `end`."""
    return Q(status__in=OPEN_ACCEPTED, no_return_by__gte=start, no_return_by__lte=end)


def closing_soon_left(status, no_return_by, now):
    """The time left before the point of no return when it is within two hours, else None."""
    if no_return_by and status in OPEN_ACCEPTED:
        left = no_return_by - now
        if datetime.timedelta(0) <= left <= CLOSING_SOON:
            return left
    return None


class OrderQuerySet(UndeletableQuerySet):
    def for_merchant(self, merchant):
        return self.filter(merchant=merchant)

    def visible(self):
        """What the dashboard lists by default: everything but clean-swept rows."""
        return self.exclude(status=Status.CLEAN_SWEPT)

    def stuck(self, now=None):
        return self.filter(stuck_q(now or timezone.now()))

    def late(self, now=None):
        return self.filter(late_q(now or timezone.now()))

    def waiting_on(self, owner, now=None):
        """Orders whose next move is `owner`'s (statuses.YOU, US, CUSTOMER): held for a
        reason they own, plus for YOU failed orders and delivery exceptions, and for US
        orders stuck in review."""
        return self.filter(waiting_on_q(owner, now or timezone.now()))

    def closing_soon(self, now=None):
        """Accepted orders whose point of no return (docs/deadlines.md) is within two hours."""
        return self.filter(closing_soon_q(now or timezone.now()))

    def needing_attention(self, now=None):
        return self.filter(attention_q(now or timezone.now()))
