"""Services that change orders. Each runs in one transaction on a locked row, checks who is
acting, and leaves history through Order.save(). Views, the admin, the API, imports, the
review step and the carrier webhook all come through here.

`by` is either a user (checked against the transition's permission) or a system name such
as "review" or "carrier" (machines are trusted callers and skip the user check).
"""

import functools
from types import SimpleNamespace

from django.db import transaction
from django.db.models import Model
from django_fsm import ConcurrentTransition, TransitionNotAllowed, can_proceed, has_transition_perm

from . import audit, effects, search
from . import statuses as st
from .addresses import address_errors, normalize
from .bulkinsert import insert_rows
from .events import ADDRESS_CHANGE_REQUESTED
from .matching import products_by_sku
from .models import (
    ADDRESS_FIELDS,
    VIEWER,
    AddressChange,
    InsufficientStock,
    Order,
    OrderLine,
    is_merchant_manager,
    manages,
    merchant_roles,
)
from .statuses import Action, Hold, Status, StatusGroup

# An imported order's yes/no "save it as a draft": the key of order_create_many's items, and
# the CSV column and API field of the same name (orders/importing/). A flag, not the status.
DRAFT_FLAG = "draft"


class ActionRefused(Exception):
    """The action is not allowed for this order or this user; the message says why."""

    def __init__(self, message, *, order=None):
        super().__init__(message)
        self.message = message
        self.order = order


class OrderChanged(ActionRefused):
    """Someone else changed the order between the user seeing it and acting on it."""


def is_person(by):
    return isinstance(by, Model)


def audited(action=None):
    """Record every call of a service in the audit log (orders/audit.py): done, or refused
    with the message the caller gets. `action` defaults to the transition's name.

    A done entry is written in the same transaction as the change, so there is never a
    change without its entry; a refused one after the rollback, so it is kept."""

    def decorate(service):
        @functools.wraps(service)
        def wrapper(**kwargs):
            by = kwargs["by"]
            if not audit.is_audited(by):
                return service(**kwargs)
            order = kwargs["order"]
            name = action or kwargs["name"]
            where = {"by": by, "merchant": order.merchant_id, "numbers": [order.number]}
            try:
                with transaction.atomic():
                    result = service(**kwargs)
                    audit.record(name, outcome=audit.DONE, **where)
            except ActionRefused as exc:
                errors = getattr(exc, "errors", None) or {}
                details = "; ".join(f"{k}: {v}" for k, v in errors.items())
                reason = f"{exc.message} ({details})" if details else exc.message
                audit.record(name, outcome=audit.REFUSED, reason=reason, **where)
                raise
            return result

        return wrapper

    return decorate


# --- saying why not ------------------------------------------------------------------------

_TOO_LATE = {
    Status.PRINTED: "already printed",
    Status.LABELED: "already packed and labelled",
}


# The transitions a merchant's manager may trigger, as their permission says: submit, retry,
# cancel and clean sweep.
MERCHANT_TRANSITIONS = frozenset(
    t.name
    for t in Order._meta.get_field("status").get_all_transitions(Order)
    if t.permission is is_merchant_manager
)


def merchant_actions(status, hold_reason=""):
    """The bulk actions (catalog: cancel, clean sweep, retry) an order in this state allows,
    permissions aside, for lists that read values rather than orders: the state machine's own
    sources and conditions, asked of the values. refusal_reason() says why not."""
    values = SimpleNamespace(status=status, hold_reason=hold_reason)
    allowed = []
    for name in st.BULK_ACTION_NAMES:
        meta = getattr(Order, name)._django_fsm
        if meta.has_transition(status) and meta.conditions_met(values, status):
            allowed.append(name)
    return allowed


def refusal_reason(order, name, user=None):
    """Why `name` cannot be applied to `order` (by `user`), in the merchant's words; None if
    it can. Used to explain a missing button and to answer a refused POST."""
    method = getattr(order, name, None)
    if method is None or not hasattr(method, "_django_fsm"):
        return f"'{name}' is not an action on orders."
    if user is not None and can_proceed(method) and not has_transition_perm(method, user):
        return _permission_refusal(order, name, user)
    if can_proceed(method):
        return None
    if getattr(method._django_fsm.field, "name", method._django_fsm.field) == "payment_status":
        label = st.PAYMENT_LABELS.get(order.payment_status, order.payment_status)
        return f"not possible while the payment is {label}"
    state = order.state
    verb = st.MERCHANT_ACTION_BY_NAME[name].past if name in st.MERCHANT_ACTION_BY_NAME else None
    if name in (Action.CANCEL, Action.CLEAN_SWEEP):
        if order.status in _TOO_LATE:
            return f"{_TOO_LATE[order.status]}: can no longer be {verb}"
        if order.group.value == StatusGroup.SHIPPED:
            return f"already shipped: can no longer be {verb}"
        if order.status == Status.CANCELLED:
            return "already cancelled"
        if order.status == Status.CLEAN_SWEPT:
            return "already clean swept"
        if name == Action.CLEAN_SWEEP:
            return (
                f"fulfillment has started ({state.label}): can no longer be clean swept; "
                "cancel it instead"
            )
    if name == Action.RETRY:
        if order.status != Status.ACTION_REQUIRED:
            return "only orders in Action Required can be retried"
        return (
            f"on hold for {order.hold_info.label.lower()}: "
            "our staff resolve this one, nothing to retry"
        )
    return f"not possible while the order is {state.label}"


def _permission_refusal(order, name, user):
    role = merchant_roles(user).get(order.merchant_id)
    if role == VIEWER:
        return "your role is viewer: only managers can change orders"
    if name in MERCHANT_TRANSITIONS or role is None:
        return "only a manager of this merchant can do this"
    return "only the provider's operations staff can do this"


# --- the one way to apply a transition -----------------------------------------------------


def lock_as_seen(order, expected_status=None):
    """The order's row, locked for the current transaction, provided its status is still the
    one the caller saw (`expected_status`, else the passed instance's). Raises ActionRefused
    when the order is gone and OrderChanged, saying what it is now, when it moved on."""
    seen = expected_status or order.status
    locked = Order.objects.select_for_update().filter(pk=order.pk).first()
    if locked is None:
        raise ActionRefused(f"Order {order.number} no longer exists.")
    if locked.status != seen:
        raise OrderChanged(
            f"Order {locked.number} changed meanwhile: it is now {locked.state.label}. "
            "Nothing was done.",
            order=locked,
        )
    return locked


@audited()
def order_transition(*, order, name, by, note="", expected_status=None, params=None):
    """Apply transition `name` to `order` as `by`, under a row lock, with history.

    `params` are the transition's own arguments (hold: reason, note; fail: reason; hand_over:
    carrier, service, tracking_number; refund: amount). `note` goes into the history row;
    without one, a hold or failure reason is recorded there.

    `expected_status` is the status the caller saw (defaults to the passed instance's); if
    the row has moved on since, nothing is done and OrderChanged says what it is now.
    Returns the updated order. Raises ActionRefused with a readable message otherwise.
    """
    with transaction.atomic():
        locked = lock_as_seen(order, expected_status)
        why = refusal_reason(locked, name, by if is_person(by) else None)
        if why:
            raise ActionRefused(f"Order {locked.number}: {why}.", order=locked)
        params = params or {}
        locked.act_as(by, note or str(params.get("note") or params.get("reason") or ""))
        try:
            getattr(locked, name)(**params)
            locked.save()
        except (TransitionNotAllowed, ValueError, TypeError) as exc:
            raise ActionRefused(f"Order {locked.number}: {exc}", order=locked) from exc
        except ConcurrentTransition as exc:
            raise OrderChanged(
                f"Order {locked.number} changed meanwhile. Nothing was done.", order=locked
            ) from exc
        except InsufficientStock as exc:
            raise ActionRefused(str(exc), order=locked) from exc
    return locked


def available_actions(order, user):
    """Names of the status transitions this user may apply to this order now."""
    return [t.name for t in order.get_available_user_status_transitions(user)]


# --- merchant actions ----------------------------------------------------------------------


def order_submit(*, order, by):
    """Merchant manager: submit a draft for review."""
    return order_transition(order=order, name="submit", by=by)


def order_cancel(*, order, by, note="", expected_status=None):
    """Merchant manager: cancel; payment is cancelled or refunded, stock released."""
    return order_transition(
        order=order, name=Action.CANCEL, by=by, note=note, expected_status=expected_status
    )


def order_clean_sweep(*, order, by, note="", expected_status=None):
    """Merchant manager: remove from the dashboard so the number can be imported again."""
    return order_transition(
        order=order, name=Action.CLEAN_SWEEP, by=by, note=note, expected_status=expected_status
    )


def order_retry(*, order, by, note="", expected_status=None):
    """Merchant manager (or the system): send a held order back to review."""
    return order_transition(
        order=order, name=Action.RETRY, by=by, note=note, expected_status=expected_status
    )


@audited("address_edit")
def order_edit_address(*, order, by, address):
    """Merchant manager: replace the shipping address while the order can still be
    cancelled. An order held for an invalid address goes back to review on save.
    Raises ActionRefused (with `errors` per field) when the address is not acceptable."""
    address = normalize({k: address.get(k, "") for k in ADDRESS_FIELDS})
    errors = address_errors(address)
    if errors:
        exc = ActionRefused("The address has errors; nothing was changed.", order=order)
        exc.errors = errors
        raise exc
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if is_person(by) and not manages(by, locked.merchant_id):
            raise ActionRefused("Only a manager of this merchant can change addresses.")
        if not locked.address_editable:
            raise ActionRefused(
                f"Order {locked.number} is {locked.state.label}: the address can no longer be "
                "edited; request a change instead."
            )
        previous = locked.address_dict()
        for name, value in address.items():
            setattr(locked, name, value)
        locked.save()
        AddressChange.objects.create(
            order=locked,
            requested_by=by if is_person(by) else None,
            address=address,
            previous_address=previous,
            applied=True,
        )
        if locked.status == Status.ACTION_REQUIRED and locked.hold_reason == Hold.INVALID_ADDRESS:
            locked.act_as(by, "address corrected")
            locked.retry()
            locked.save()
    return locked


@audited("address_request")
def order_request_address_change(*, order, by, address, note=""):
    """Merchant manager: once labelled or printed, ask for an address change. It is
    recorded and shown as requested, not guaranteed."""
    address = normalize({k: address.get(k, "") for k in ADDRESS_FIELDS})
    errors = address_errors(address)
    if errors:
        exc = ActionRefused("The address has errors; nothing was requested.", order=order)
        exc.errors = errors
        raise exc
    if is_person(by) and not manages(by, order.merchant_id):
        raise ActionRefused("Only a manager of this merchant can request address changes.")
    if not order.address_changeable:
        raise ActionRefused(f"Order {order.number} is {order.state.label}: nothing to change.")
    with transaction.atomic():
        change = AddressChange.objects.create(
            order=order,
            requested_by=by if is_person(by) else None,
            address=address,
            previous_address=order.address_dict(),
            applied=False,
            note=note,
        )
        effects.record_event(
            ADDRESS_CHANGE_REQUESTED,
            merchant=order.merchant_id,
            order=order,
            data={"address_change": {"requested": address, "note": note}},
        )
    return change


# --- creating orders -----------------------------------------------------------------------


def _flow(skus, products):
    """The flow the products give, and whether one is embroidered: all stock items ship from
    stock, anything printed or embroidered is print; a mix is kept as given for review."""
    kinds = {products[s].kind for s in skus if s in products}
    return (st.STOCK if kinds <= {"stock"} else st.PRINT), "embroidery" in kinds


def _new_lines(order, lines, products):
    return [
        OrderLine(
            order=order,
            product=products.get(line["sku"]),
            sku=line["sku"],
            name=line.get("name") or getattr(products.get(line["sku"]), "name", ""),
            quantity=line.get("quantity", 1),
            unit_price=line.get("unit_price", 0),
            personalization=line.get("personalization", ""),
            personalization_complete=line.get("personalization_complete", True),
        ).copy_order(order)
        for line in lines
    ]


def order_create(*, merchant, by, number, lines, draft=False, reimport_of=None, **fields):
    """Create an order with its lines in its initial state (Draft, or Import Review which
    starts the review) and its first history row. `lines` are dicts with sku, quantity and
    optionally name, unit_price, personalization, personalization_complete.

    The flow comes from the products: all stock items ship from stock, anything printed or
    embroidered is print; a mix is kept as given and review holds it.
    """
    skus = [line["sku"] for line in lines]
    products = products_by_sku(merchant.pk, skus)
    flow, embroidery = _flow(skus, products)
    initial = Status.DRAFT if draft else Status.IMPORT_REVIEW
    with transaction.atomic():
        order = Order.objects.create(
            merchant=merchant,
            number=number,
            flow=flow,
            has_embroidery=embroidery,
            reimport_of=reimport_of,
            status=initial,
            search_text=search.text_for_new(fields, number, lines),
            **fields,
        )
        OrderLine.objects.bulk_create(_new_lines(order, lines, products))
        # save() has counted it; the first history row, its event and the review request
        # come from the one writer of effects.
        effects.record_created([order], by=by, counted=True)
    return order


def order_create_many(*, merchant, by, items, payment_reason=""):
    """Importers: create many orders at once, each exactly as order_create would, in one
    transaction: bulk inserts of the orders in their initial state (Draft or Import Review;
    the only states the rules allow to be inserted), their lines and their first history
    rows, plus a payment history row for each order created with a payment status the store
    reported (`payment_reason` explains it). The kept status counts are adjusted by the same
    amounts in the same transaction.

    `items` are dicts with number, lines, draft, reimport_of and fields (order field values,
    payment_status included when given). Returns the orders, in the order of `items`. Review
    is requested after commit for every order in Import Review. Raises the database's error
    (nothing is written) if any order cannot be inserted; the caller then retries one by one.
    """
    skus = {line["sku"] for item in items for line in item["lines"]}
    products = products_by_sku(merchant.pk, skus)
    orders = []
    for item in items:
        flow, embroidery = _flow([line["sku"] for line in item["lines"]], products)
        orders.append(
            Order(
                merchant=merchant,
                number=item["number"],
                flow=flow,
                has_embroidery=embroidery,
                reimport_of=item.get("reimport_of"),
                status=Status.DRAFT if item.get(DRAFT_FLAG) else Status.IMPORT_REVIEW,
                search_text=search.text_for_new(
                    item.get("fields", {}), item["number"], item["lines"]
                ),
                **item.get("fields", {}),
            )
        )
    with transaction.atomic():
        Order.objects.bulk_create(orders)
        insert_rows(
            line
            for order, item in zip(orders, items, strict=True)
            for line in _new_lines(order, item["lines"], products)
        )
        effects.record_created(
            orders,
            by=by,
            payment_reason=payment_reason,
            payment_reported=["payment_status" in item.get("fields", {}) for item in items],
        )
        search.mirror({order.pk: order.search_text for order in orders})
    return orders
