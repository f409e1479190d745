"""The order's two protected state machines (`status` and `payment_status`), mixed into
Order (orders/models/order.py).

Every change of a status field is a named @transition below. The transition's permission
callable says who may trigger it; its conditions say for which orders.
"""

from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django_fsm import RETURN_VALUE, transition

from .. import statuses as st
from ..statuses import Hold, Payment, Status
from .reference import manages


def is_merchant_manager(order, user):
    return bool(user and user.is_active) and manages(user, order.merchant_id)


def is_staff(order, user):
    return bool(user and user.is_active and user.is_staff)


def machines_only(order, user):
    """Review and carrier transitions: no person triggers them by hand."""
    return False


class OrderMachine:
    """The transitions of Order.status and Order.payment_status (the fields live on Order)."""

    # -- status transitions -----------------------------------------------------------------
    # Docstrings say who may call each; the permission argument enforces it for people, and
    # services check it before calling. Machines (review, carrier webhook) call them directly.

    def _is_stock(self):
        return self.flow == st.STOCK

    def _is_print(self):
        return self.flow == st.PRINT

    def _is_embroidery(self):
        return self.flow == st.PRINT and self.has_embroidery

    def _upload_ready(self):
        return self.flow == st.PRINT and (
            not self.has_embroidery or self.status == Status.DIGITIZING
        )

    def _merchant_can_retry(self):
        return self.hold_reason in st.MERCHANT_RETRY_REASONS

    def _pending_approval(self):
        return self.hold_reason == Hold.PENDING_APPROVAL

    def _special_requirements(self):
        return self.hold_reason == Hold.SPECIAL_REQUIREMENTS

    @transition(
        "status",
        source=Status.DRAFT,
        target=Status.IMPORT_REVIEW,
        permission=is_merchant_manager,
        custom={"label": "Submit", "admin": False},
    )
    def submit(self):
        """Merchant manager: send a draft to review."""

    @transition(
        "status",
        source=Status.IMPORT_REVIEW,
        target=Status.PROCESSING,
        permission=machines_only,
        custom={"label": "Accept", "admin": False},
    )
    def accept(self, center, carrier="", service="", lead_days=None):
        """Review only: assign the facility, the carrier and service the ship option maps to,
        the ship-by time and the point of no return (`lead_days`: the print products' own
        production lead time, if longer than the facility's); stock is reserved on save."""
        self.center = center
        if carrier:
            self.carrier = carrier
            self.service = service
        now = timezone.now()
        self.ship_by = center.ship_by_for(self.flow, now, lead_days)
        self.no_return_by = center.no_return_for(self.flow, now, lead_days)

    @transition(
        "status",
        source=st.HOLDABLE,
        target=Status.ACTION_REQUIRED,
        permission=is_staff,
        custom={"label": "Hold", "form": "orders.forms.HoldForm"},
    )
    def hold(self, reason, note="", detail=None):
        """Review or staff: block fulfillment for one of the SPEC's hold reasons. `detail` is
        what the failing check found (orders/holds.py says what each reason keeps)."""
        if reason not in st.HOLD_BY_VALUE:
            raise ValueError(f"Unknown hold reason {reason!r}")
        self.hold_reason = reason
        self.hold_note = note
        self.hold_detail = detail or None

    @transition(
        "status",
        source=Status.ACTION_REQUIRED,
        target=Status.IMPORT_REVIEW,
        conditions=[_merchant_can_retry],
        permission=is_merchant_manager,
        custom={"label": "Retry", "admin": False},
    )
    def retry(self):
        """Merchant manager (or the system when stock arrives): back to review."""

    @transition(
        "status",
        source=Status.ACTION_REQUIRED,
        target=Status.IMPORT_REVIEW,
        conditions=[_pending_approval],
        permission=is_staff,
        custom={"label": "Approve"},
    )
    def approve(self):
        """Staff: an order pending approval is approved and goes back to review."""
        self.approved_at = timezone.now()

    @transition(
        "status",
        source=Status.ACTION_REQUIRED,
        target=Status.IMPORT_REVIEW,
        conditions=[_special_requirements],
        permission=is_staff,
        custom={"label": "Release"},
    )
    def release(self):
        """Staff: special requirements are clarified; back to review."""

    @transition(
        "status",
        source=Status.ACTION_REQUIRED,
        target=Status.CANCELLED,
        conditions=[_pending_approval],
        permission=is_staff,
        custom={"label": "Decline"},
    )
    def decline(self):
        """Staff: an order pending approval is declined and cancelled."""
        self._settle_payment_on_cancel()

    @transition(
        "status",
        source=Status.PROCESSING,
        target=Status.PICK_IN_PROCESS,
        conditions=[_is_stock],
        permission=is_staff,
        custom={"label": "Start pick"},
    )
    def start_pick(self):
        """Staff (stock flow): the warehouse starts picking."""

    @transition(
        "status",
        source=Status.PICK_IN_PROCESS,
        target=Status.PICKED,
        permission=is_staff,
        custom={"label": "Finish pick"},
    )
    def finish_pick(self):
        """Staff (stock flow): picking is done."""

    @transition(
        "status",
        source=Status.PROCESSING,
        target=Status.DIGITIZING,
        conditions=[_is_embroidery],
        permission=is_staff,
        custom={"label": "Start digitizing"},
    )
    def start_digitizing(self):
        """Staff (embroidery): the design goes to digitizing."""

    @transition(
        "status",
        source=[Status.PROCESSING, Status.DIGITIZING],
        target=Status.UPLOADING,
        conditions=[_upload_ready],
        permission=is_staff,
        custom={"label": "Start upload"},
    )
    def start_upload(self):
        """Staff (print): artwork goes to the production partner; embroidery digitizes first."""

    @transition(
        "status",
        source=Status.UPLOADING,
        target=Status.PASSED,
        permission=is_staff,
        custom={"label": "Pass file check"},
    )
    def pass_file(self):
        """Staff (print): the artwork passed inspection."""

    @transition(
        "status",
        source=Status.PASSED,
        target=Status.IN_PRODUCTION,
        permission=is_staff,
        custom={"label": "Start production"},
    )
    def start_production(self):
        """Staff (print): production starts."""

    @transition(
        "status",
        source=Status.IN_PRODUCTION,
        target=Status.PRINTED,
        permission=is_staff,
        custom={"label": "Finish production"},
    )
    def finish_production(self):
        """Staff (print): made; from here it can no longer be cancelled."""

    @transition(
        "status",
        source=st.FAILABLE,
        target=Status.FAILED,
        permission=is_staff,
        custom={"label": "Fail", "form": "orders.forms.FailForm"},
    )
    def fail(self, reason):
        """Review or staff: the order cannot be recovered; the reason is shown to the merchant."""
        if not str(reason).strip():
            raise ValueError("A failure needs a reason the merchant can read.")
        self.failure_reason = str(reason).strip()

    @transition(
        "status",
        source=[Status.PICKED, Status.PRINTED],
        target=Status.LABELED,
        permission=is_staff,
        custom={"label": "Pack and label"},
    )
    def pack_and_label(self):
        """Staff: packed and labelled, waiting for the carrier."""

    @transition(
        "status",
        source=Status.LABELED,
        target=Status.SHIPPED,
        permission=is_staff,
        custom={"label": "Hand over to carrier", "form": "orders.forms.HandOverForm"},
    )
    def hand_over(self, carrier, tracking_number, service=""):
        """Staff: handed to the carrier; needs the carrier and a tracking number. Stock is
        consumed on save."""
        if not str(carrier).strip() or not str(tracking_number).strip():
            raise ValueError("Hand-over needs a carrier and a tracking number.")
        values = {
            "carrier": str(carrier).strip(),
            "service": str(service or self.service).strip(),
            "tracking_number": str(tracking_number).strip(),
        }
        # Checked here, not only in the admin's forms: PostgreSQL refuses what does not fit.
        for name, value in values.items():
            limit = self._meta.get_field(name).max_length
            if len(value) > limit or "\x00" in value:
                raise ValueError(
                    f"The {name.replace('_', ' ')} must be text of at most {limit} characters."
                )
            setattr(self, name, value)

    @transition(
        "status",
        source=[Status.SHIPPED, Status.DELIVERY_EXCEPTION],
        target=Status.IN_TRANSIT,
        permission=machines_only,
        custom={"label": "Carrier scan"},
    )
    def scan(self):
        """Carrier webhook: first (or renewed) scan."""

    @transition(
        "status",
        source=[Status.SHIPPED, Status.IN_TRANSIT, Status.DELIVERY_EXCEPTION],
        target=Status.OUT_FOR_DELIVERY,
        permission=machines_only,
        custom={"label": "Out for delivery"},
    )
    def out_for_delivery(self):
        """Carrier webhook: on the delivery vehicle."""

    @transition(
        "status",
        source=[
            Status.SHIPPED,
            Status.IN_TRANSIT,
            Status.OUT_FOR_DELIVERY,
            Status.DELIVERY_EXCEPTION,
        ],
        target=Status.DELIVERED,
        permission=machines_only,
        custom={"label": "Delivered"},
    )
    def deliver(self):
        """Carrier webhook: delivered (final)."""

    @transition(
        "status",
        source=[Status.SHIPPED, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY],
        target=Status.DELIVERY_EXCEPTION,
        permission=machines_only,
        custom={"label": "Delivery exception"},
    )
    def exception(self):
        """Carrier webhook: the carrier could not deliver."""

    @transition(
        "status",
        source=[
            Status.SHIPPED,
            Status.IN_TRANSIT,
            Status.OUT_FOR_DELIVERY,
            Status.DELIVERY_EXCEPTION,
        ],
        target=Status.RETURNED,
        permission=machines_only,
        custom={"label": "Returned to sender"},
    )
    def return_to_sender(self):
        """Carrier webhook: came back to the sender (final)."""

    @transition(
        "status",
        source=st.CANCELLABLE,
        target=Status.CANCELLED,
        permission=is_merchant_manager,
        custom={"label": "Cancel", "admin": False},
    )
    def cancel(self):
        """Merchant manager: stop the order. A pending or refused payment is cancelled and a
        paid one fully refunded; reserved stock is released on save."""
        self._settle_payment_on_cancel()

    @transition(
        "status",
        source=st.CLEAN_SWEEPABLE,
        target=Status.CLEAN_SWEPT,
        permission=is_merchant_manager,
        custom={"label": "Clean sweep", "admin": False},
    )
    def clean_sweep(self):
        """Merchant manager: remove without cancelling so the number can be imported again."""

    def _settle_payment_on_cancel(self):
        if self.payment_status in (Payment.PENDING, Payment.REFUSED):
            self.cancel_payment()
        elif self.payment_status in (Payment.PAID, Payment.PARTIALLY_REFUNDED):
            # SPEC: a paid order is fully refunded; a free one (nothing charged) is refunded
            # with 0, so a cancelled or declined order never still reads "Paid".
            self.refund(self.refundable_amount)

    # -- payment transitions ----------------------------------------------------------------

    @transition(
        "payment_status",
        source=[Payment.PENDING, Payment.REFUSED],
        target=Payment.PAID,
        permission=is_staff,
        custom={"label": "Mark paid"},
    )
    def mark_paid(self):
        """Staff or the payment system: the payment succeeded. An order held for a refused
        payment goes back to review."""
        if self.status == Status.ACTION_REQUIRED and self.hold_reason == Hold.PAYMENT_REFUSED:
            self.retry()

    @transition(
        "payment_status",
        source=Payment.PENDING,
        target=Payment.REFUSED,
        permission=is_staff,
        custom={"label": "Mark refused"},
    )
    def refuse_payment(self, reason=""):
        """Staff or the payment system: the payment was refused (`reason`: the processor's
        words, when it gave any); a live order is held."""
        if self.status in st.HOLDABLE:
            reason = str(reason or "").strip()[:300]
            self.hold(Hold.PAYMENT_REFUSED, detail={"processor_reason": reason} if reason else None)

    @transition(
        "payment_status",
        source=[Payment.PENDING, Payment.REFUSED],
        target=Payment.CANCELED,
        permission=machines_only,
        custom={"label": "Cancel payment", "admin": False},
    )
    def cancel_payment(self):
        """Only through cancelling or declining the order."""

    @transition(
        "payment_status",
        source=[Payment.PAID, Payment.PARTIALLY_REFUNDED],
        target=RETURN_VALUE(Payment.PARTIALLY_REFUNDED, Payment.REFUNDED),
        permission=is_staff,
        custom={"label": "Refund", "form": "orders.forms.RefundForm"},
    )
    def refund(self, amount):
        """Staff (or cancelling a paid order): refund part or all of what is left."""
        try:
            amount = Decimal(str(amount))
        except InvalidOperation:
            raise ValueError("A refund amount must be a number.") from None
        if not amount.is_finite() or amount < 0 or (amount == 0 and self.refundable_amount > 0):
            # 0 only settles a free order, where nothing was charged.
            raise ValueError("A refund must be a positive amount.")
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError("A refund amount has at most two decimal places.")
        if amount > self.refundable_amount:
            raise ValueError(f"At most {self.refundable_amount} {self.currency} can be refunded.")
        self.refunded_amount += amount
        return (
            Payment.REFUNDED if self.refunded_amount >= self.total else Payment.PARTIALLY_REFUNDED
        )
