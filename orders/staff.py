"""Staff writes from the admin, as services: an order's fields and lines edited on its change
page, and stock received or counted on an inventory level's page.

The admin page a person saves may be minutes old. So the page carries what it showed (a
signed snapshot, `shown_token`), and the services here compare it with the row they hold
locked:

- an order edit writes only the fields the person changed on the page; if one of them (or a
  field that belongs with it: the address, the shipping details, the lines) changed since the
  page was built, nothing is saved and StaleEdit lists what changed. Fields the person did not
  touch keep whatever is in the database now (a hand-over's carrier, the merchant's address);
- stock is adjusted by a difference (received 10; counted 37 where the page showed 39: -2),
  added to the on-hand count as it is now, never by writing a new total over it.

Why a snapshot instead of a version number on the order: machines write orders through
several paths (review's own UPDATE of the flow, line copies, carrier events), and a version
every one of them must remember to bump fails silently when one forgets; the snapshot needs
nothing from them and also says *what* changed.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F

from . import audit
from . import statuses as st
from .models import ADDRESS_FIELDS, InventoryLevel, Order, is_listed, is_staff
from .services import ActionRefused, OrderChanged, is_person
from .statuses import Status

SALT = "orders.staff.shown"

# What staff may change on an order's page. Status fields, the hold, the facility, the stock
# flag and the merchant are not here: they change only through transitions (or, for the
# merchant, not at all: see docs/staff-edits.md).
EDITABLE = [
    "number",
    "customer_name",
    "customer_email",
    "customer_phone",
    *ADDRESS_FIELDS,
    "ship_option",
    "carrier",
    "service",
    "tracking_number",
    "ship_by",
    "total",
    "currency",
    "needs_approval",
]
# Shown on the page and compared, but changed only by transitions and machines.
WATCHED = [
    "merchant",
    "status",
    "payment_status",
    "hold_reason",
    "center",
    "stock_reserved",
    "refunded_amount",
]
SHOWN = EDITABLE + WATCHED

# Fields that only make sense together: editing one of them on a stale page conflicts with a
# change of any of them (half an old address next to half a new one is no address).
GROUPS = {
    "address": ADDRESS_FIELDS,
    "shipping": ["ship_option", "carrier", "service", "tracking_number"],
    "money": ["total", "currency"],
}
GROUP_OF = {name: group for group, names in GROUPS.items() for name in names}

# Lines may change while nothing is reserved for them and fulfillment has not started.
LINES_EDITABLE_IN = [Status.DRAFT, Status.IMPORT_REVIEW, Status.ACTION_REQUIRED]


class StaleEdit(OrderChanged):
    """The page was older than the order: `changed` lists (label, shown, now) of everything
    that changed since, `conflicts` the names that collide with the person's edit."""

    def __init__(self, message, *, order, changed, conflicts):
        super().__init__(message, order=order)
        self.changed = changed
        self.conflicts = conflicts


def lines_editable(order):
    return order.status in LINES_EDITABLE_IN and not order.stock_reserved


# --- what a page showed ----------------------------------------------------------------------


def _text(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def snapshot(order, lines=None):
    """What an order's change page shows: its fields as text, and its lines."""
    fields = {}
    for name in SHOWN:
        fields[name] = _text(getattr(order, Order._meta.get_field(name).attname))
    if lines is None:
        lines = order.lines.order_by("id")
    return {"fields": fields, "lines": [_line_text(line) for line in lines]}


def _line_text(line):
    return {
        "id": line.pk,
        "sku": line.sku,
        "name": line.name,
        "product": line.product_id,
        "quantity": line.quantity,
        "unit_price": str(line.unit_price),
        "personalization": line.personalization,
        "personalization_complete": line.personalization_complete,
    }


def shown_token(order, lines=None):
    """The snapshot, signed, for a hidden field of the page."""
    return signing.dumps(snapshot(order, lines), salt=SALT, compress=True)


def read_shown(token):
    """The snapshot a page carried, or None when the token is missing or not ours."""
    try:
        data = signing.loads(str(token or ""), salt=SALT)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("lines"), list):
        return None
    if not isinstance(data.get("fields"), dict) or set(data["fields"]) != set(SHOWN):
        return None  # a page from before a change of what pages carry
    return data


def shown_values(shown):
    """The editable fields' values as the page showed them, as Python values (a form's
    initial data, so its changed_data is what the person changed)."""
    values = {}
    for name in EDITABLE:
        field = Order._meta.get_field(name)
        text = shown["fields"][name]
        values[name] = None if text is None else field.to_python(text)
    return values


def _label(name):
    return str(Order._meta.get_field(name).verbose_name).capitalize()


def _display(name, text):
    if text is None or text == "":
        return "(blank)"
    if name == "status":
        return st.STATE_BY_VALUE[text].label if text in st.STATE_BY_VALUE else text
    if name == "payment_status":
        return st.PAYMENT_LABELS.get(text, text)
    return text


def differences(shown, now):
    """[(name, shown text, now text)] for every shown field that changed, plus "lines"."""
    changed = [
        (name, shown["fields"][name], now["fields"][name])
        for name in SHOWN
        if shown["fields"][name] != now["fields"][name]
    ]
    if shown["lines"] != now["lines"]:
        changed.append(("lines", _lines_summary(shown["lines"]), _lines_summary(now["lines"])))
    return changed


def _lines_summary(lines):
    return ", ".join(f"{line['quantity']} x {line['sku']}" for line in lines) or "none"


def describe(changed):
    """ "Carrier: (blank) → UPS; Status: Labeled → Shipped" for a StaleEdit message."""
    parts = []
    for name, before, after in changed:
        label = "Lines" if name == "lines" else _label(name)
        parts.append(f"{label}: {_display(name, before)} → {_display(name, after)}")
    return "; ".join(parts)


# --- lines as the person submitted them ----------------------------------------------------


def _same_decimal(text, shown):
    try:
        return Decimal(str(text).strip()) == Decimal(shown)
    except (InvalidOperation, ValueError):
        return False


def submitted_lines_differ(post, shown_lines, prefix="lines"):
    """Did the person change, add or delete a line on the page? Read from the posted inline
    form as typed, against the lines the page showed (not the lines as they are now)."""
    try:
        total = int(post.get(f"{prefix}-TOTAL_FORMS", 0))
    except (TypeError, ValueError):
        return True
    by_id = {str(line["id"]): line for line in shown_lines}
    seen = set()
    for i in range(min(total, 1000)):
        key = f"{prefix}-{i}-"
        line = by_id.get(post.get(f"{key}id", ""))
        if line is None:
            if post.get(f"{key}sku", "").strip() or post.get(f"{key}product", "").strip():
                return True  # a new line
            continue
        seen.add(str(line["id"]))
        if post.get(f"{key}DELETE"):
            return True
        for name in ("sku", "name", "personalization"):
            if post.get(f"{key}{name}", "").strip() != str(line[name]).strip():
                return True
        if post.get(f"{key}product", "").strip() != str(line["product"] or ""):
            return True
        if not _same_decimal(post.get(f"{key}quantity", ""), str(line["quantity"])):
            return True
        if not _same_decimal(post.get(f"{key}unit_price", ""), line["unit_price"]):
            return True
        if bool(post.get(f"{key}personalization_complete")) != line["personalization_complete"]:
            return True
    return False


# --- the order edit ------------------------------------------------------------------------


def order_staff_edit(*, order, by, shown, changes, lines_changed=False, save_lines=None):
    """Staff: save an edit made on the order's admin page, under a row lock.

    `shown` is the snapshot the page carried, `changes` {field: new value} for the editable
    fields the person changed on it, `lines_changed` whether they changed the lines, and
    `save_lines(order)` writes those lines (the admin's inline formset). Only the changed
    fields are written. Raises StaleEdit (nothing saved) when a changed field, a field of its
    group, or the lines changed since the page was built; ActionRefused (with `errors` per
    field) for a number another live order of the merchant has. Returns (order, changed):
    `changed` is what others changed meanwhile and was kept.

    Audited like the other services: done (naming the fields) in the same transaction,
    refused (with the message) after the rollback."""
    try:
        return _staff_edit(order, by, shown, changes, lines_changed, save_lines)
    except ActionRefused as exc:
        _record(by, order, audit.REFUSED, exc.message)
        raise


def _record(by, order, outcome, reason):
    if audit.is_audited(by):
        audit.record(
            "admin_edit",
            by=by,
            merchant=order.merchant_id,
            numbers=[order.number],
            outcome=outcome,
            reason=reason,
        )


def _staff_edit(order, by, shown, changes, lines_changed, save_lines):
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ActionRefused(f"These fields are not edited here: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(pk=order.pk).first()
        if locked is None:
            raise ActionRefused(f"Order {order.number} no longer exists.")
        if is_person(by) and not is_staff(locked, by):
            raise ActionRefused("Only the provider's operations staff can edit orders here.")
        now = snapshot(locked)
        changed = differences(shown, now)
        touched = {GROUP_OF.get(name, name) for name in changes}
        if lines_changed:
            touched.add("lines")
        conflicts = [
            name
            for name, _before, _after in changed
            if GROUP_OF.get(name, name) in touched
            # Lines are fixed once stock is reserved or fulfillment started.
            or (lines_changed and name in ("status", "stock_reserved"))
        ]
        if lines_changed and not lines_editable(locked) and not conflicts:
            conflicts = ["status"]
        if conflicts:
            raise StaleEdit(
                f"Order {locked.number} changed meanwhile: {describe(changed)}. Nothing was "
                "saved. Open the order again to see it as it is now, then redo your change.",
                order=locked,
                changed=changed,
                conflicts=conflicts,
            )
        number = changes.get("number")
        # One live order per number: a clean-swept row is outside the rule.
        if (
            number is not None
            and number != locked.number
            and is_listed(locked.status)
            and _number_taken(locked, number)
        ):
            exc = ActionRefused(
                f"Order number {number} is taken by another live order of this merchant; "
                "nothing was saved.",
                order=locked,
            )
            exc.errors = {"number": "Another live order of this merchant has this number."}
            raise exc
        for name, value in changes.items():
            setattr(locked, name, value)
        try:
            with transaction.atomic():
                if changes:
                    locked.save(update_fields=list(changes))
                if lines_changed and save_lines is not None:
                    save_lines(locked)
        except IntegrityError as exc:
            # Two renames to one number at once: the constraint decides, the loser is told.
            refused = ActionRefused(
                f"Order {locked.number} could not be saved: {number or 'a value'} is taken "
                "meanwhile; nothing was saved.",
                order=locked,
            )
            refused.errors = {"number": "Another live order of this merchant has this number."}
            raise refused from exc
        edited = [*changes, *(["lines"] if lines_changed else [])]
        _record(by, locked, audit.DONE, f"changed {', '.join(edited)}")
    return locked, changed


def _number_taken(order, number):
    return (
        Order.objects.visible()
        .filter(merchant_id=order.merchant_id, number=number)
        .exclude(pk=order.pk)
        .exists()
    )


# --- stock ---------------------------------------------------------------------------------


class StockRefused(ActionRefused):
    """A stock adjustment that cannot be applied; nothing changed."""


def stock_adjust(*, level, by, delta, shown_on_hand, what):
    """Staff: add `delta` to a level's on-hand count (received: positive; a count: the count
    minus `shown_on_hand`, what the page showed), under a row lock, with an audit entry.

    The on-hand count never goes below what open orders have reserved. `what` says in words
    what was done ("received 10", "counted 37"). Returns the level as saved. Raises
    StockRefused (nothing changed) otherwise."""
    with transaction.atomic():
        locked = (
            InventoryLevel.objects.select_for_update()
            .select_related("product", "center")
            .filter(pk=level.pk)
            .first()
        )
        if locked is None:
            raise StockRefused("This stock level no longer exists.")
        if is_person(by) and not (by.is_active and by.is_staff):
            raise StockRefused("Only the provider's operations staff can adjust stock.")
        new = locked.on_hand + delta
        if new < locked.reserved:
            raise StockRefused(
                f"Open orders have {locked.reserved} reserved here: on hand cannot go below "
                f"that (it would be {new}). Nothing was changed."
            )
        if delta:
            InventoryLevel.objects.filter(pk=locked.pk).update(on_hand=F("on_hand") + delta)
        note = (
            f"{locked.product.sku} at {locked.center.code}: {what}; page showed "
            f"{shown_on_hand}, on hand {locked.on_hand} → {new} ({delta:+d})"
        )
        if audit.is_audited(by):
            audit.record(
                "stock_adjust",
                by=by,
                merchant=locked.product.merchant_id,
                outcome=audit.DONE,
                reason=note,
            )
        locked.on_hand = new
    return locked


def stock_level_add(*, center, product, on_hand, by):
    """Staff: start keeping stock of `product` at `center` with `on_hand` units, with an
    audit entry. Raises StockRefused when the level exists (added meanwhile)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                level = InventoryLevel.objects.create(
                    center=center, product=product, on_hand=on_hand
                )
        except IntegrityError as exc:
            raise StockRefused(
                f"{product.sku} already has a stock level at {center.code}; adjust that one."
            ) from exc
        if audit.is_audited(by):
            audit.record(
                "stock_adjust",
                by=by,
                merchant=product.merchant_id,
                outcome=audit.DONE,
                reason=f"{product.sku} at {center.code}: new level with {on_hand} on hand",
            )
    return level
