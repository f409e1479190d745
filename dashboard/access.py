"""What the signed-in user may see and do. Every dashboard view asks here, so tenancy is
decided in one place: another merchant's order is a 404, a viewer's change is a 403."""

from django.core.exceptions import PermissionDenied
from django.db import router
from django.http import Http404

from orders import audit
from orders.models import (
    MANAGER,
    FulfillmentCenter,
    Membership,
    Merchant,
    Order,
    keep_merchant_roles,
    merchant_roles,
)
from orders.prepared import Prepared
from orders.statuses import Status

SESSION_KEY = "merchant_id"
_MERCHANT_FIELDS = [field.attname for field in Merchant._meta.concrete_fields]
# Every page reads the signed-in user's memberships: the statement is built once
# (orders/prepared.py). Each row: the role, then the merchant's fields.
_MEMBERSHIPS = Prepared(
    Membership,
    lambda user_id: (
        Membership.objects.filter(user_id=user_id)
        .order_by("merchant__name", "merchant__pk")
        .values_list("role", *(f"merchant__{name}" for name in _MERCHANT_FIELDS))
    ),
    int,
)


def merchant_choices(request):
    """The merchants this user may view: their memberships, or every merchant for staff."""
    cached = getattr(request, "_merchant_choices", None)
    if cached is None:
        user = request.user
        if not user.is_authenticated:
            cached = []
        elif user.is_staff:
            cached = list(Merchant.objects.all())
        else:
            # The memberships give the merchants and the user's roles in one query; the
            # roles are kept where merchant_roles() looks for them.
            alias = router.db_for_read(Membership)
            roles = {}
            cached = []
            for role_here, *fields in _MEMBERSHIPS(user.pk):
                merchant = Merchant.from_db(alias, _MERCHANT_FIELDS, fields)
                cached.append(merchant)
                roles[merchant.pk] = role_here
            keep_merchant_roles(user, roles)
        request._merchant_choices = cached
    return cached


def current_merchant(request):
    """The merchant being viewed: the one stored in the session if the user (still) may
    view it, else their first membership. Staff without a membership must pick one; until
    then this is None."""
    choices = merchant_choices(request)
    chosen = request.session.get(SESSION_KEY)
    for merchant in choices:
        if merchant.pk == chosen:
            return merchant
    if request.user.is_authenticated and not request.user.is_staff and choices:
        return choices[0]
    member_of = merchant_roles(request.user)
    for merchant in choices:
        if merchant.pk in member_of:
            return merchant
    return None


def set_current_merchant(request, merchant_id):
    """Switch to `merchant_id` if the user may view it; returns the merchant or None."""
    for merchant in merchant_choices(request):
        if str(merchant.pk) == str(merchant_id):
            request.session[SESSION_KEY] = merchant.pk
            return merchant
    return None


def require_merchant(request):
    merchant = current_merchant(request)
    if merchant is None:
        raise Http404("No merchant selected.")
    return merchant


def role(request, merchant):
    return merchant_roles(request.user).get(merchant.pk)


def is_manager(request, merchant):
    return request.user.is_active and role(request, merchant) == MANAGER


def require_manager(request, merchant):
    """Changing anything needs the manager role for this merchant (staff included: they
    change orders in the admin, not here)."""
    if not is_manager(request, merchant):
        message = "Only a manager of this merchant can change orders."
        if request.method == "POST":
            # Someone tried to change something: the audit log keeps the attempt.
            match = request.resolver_match
            kwargs = match.kwargs if match else {}
            audit.record(
                kwargs.get("action") or (match.url_name if match else "") or request.path,
                by=request.user,
                merchant=merchant,
                numbers=[kwargs.get("number", "")],
                outcome=audit.REFUSED,
                reason=message,
            )
        raise PermissionDenied(message)


def orders_for(request):
    return Order.objects.for_merchant(require_merchant(request))


def get_order_for_user(request, number):
    """The current merchant's order with this number, or 404 (also for another merchant's
    number). If a clean-swept row and a live row share the number, the live one wins; if
    only clean-swept rows exist, the newest of them.

    Every row with the number is read (one, nearly always; a few after clean sweeps and
    reimports) and the choice is made here: the ORM's version of that ordering cost more
    to build than the query took to run. The read is built once (orders/prepared.py) with
    the order's center and the number of the earlier order a reimport replaced in the same
    row; the order's merchant is the one the request already holds."""
    merchant = require_merchant(request)
    alias = router.db_for_read(Order)
    orders = []
    for row in _ORDERS_BY_NUMBER(merchant.pk, number):
        order = Order.from_db(alias, _ORDER_FIELDS, row[:_ORDER_COLUMNS])
        order.reimport_of_number = row[_ORDER_COLUMNS]
        order.merchant = merchant
        center = None
        if order.center_id is not None:
            center = FulfillmentCenter.from_db(alias, _CENTER_FIELDS, row[_ORDER_COLUMNS + 1 :])
        order.center = center
        orders.append(order)
    if not orders:
        raise Http404("No such order.")
    return min(orders, key=_live_then_newest)


# More rows with one number than this would take that many clean sweeps and reimports.
MAX_ROWS_PER_NUMBER = 100
_ORDER_FIELDS = [field.attname for field in Order._meta.concrete_fields]
_ORDER_COLUMNS = len(_ORDER_FIELDS)
_CENTER_FIELDS = [field.attname for field in FulfillmentCenter._meta.concrete_fields]
_ORDERS_BY_NUMBER = Prepared(
    Order,
    lambda merchant_id, number: (
        Order.objects.filter(merchant_id=merchant_id, number=number)
        .order_by()
        .values_list(
            *_ORDER_FIELDS,
            "reimport_of__number",
            *(f"center__{name}" for name in _CENTER_FIELDS),
        )[:MAX_ROWS_PER_NUMBER]
    ),
    int,
    str,
)


def _live_then_newest(order):
    return (order.status == Status.CLEAN_SWEPT, -order.created_at.timestamp(), -order.pk)
