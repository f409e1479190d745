"""The merchants of the live demo (simulate_operations): how a merchant's manager, the
payment provider and staff resolve each kind of hold, through the same services the
dashboard and the admin use."""

from orders import statuses as st
from orders.holds import order_complete_personalization
from orders.models import Membership, Order, Product, ShipOptionMapping
from orders.services import (
    ActionRefused,
    order_cancel,
    order_clean_sweep,
    order_edit_address,
    order_submit,
)
from orders.statuses import Payment, Status

from ._simulation_cast import COPIED_FIELDS, CUSTOMERS


class MerchantsResolveHolds:
    """Mixed into the simulator's command: one method per hold reason
    (`_resolve_<reason>`), each a real actor's way out of that hold."""

    def resolve_holds(self):
        held = Order.objects.filter(status=Status.ACTION_REQUIRED)
        for reason in st.HOLD_REASONS:
            resolve = getattr(self, f"_resolve_{reason.value}")
            for order in self._turns(held.filter(hold_reason=reason.value), reason.value):
                resolve(order)
        for order in self._turns(Order.objects.filter(status=Status.DRAFT), Status.DRAFT):
            self._merchant_does(order_submit, order, "submitted the draft")

    def _manager(self, order):
        membership = (
            Membership.objects.filter(merchant_id=order.merchant_id, role="manager")
            .select_related("user")
            .order_by("id")
            .first()
        )
        return membership.user if membership else None

    def _merchant_does(self, service, order, what, **kwargs):
        manager = self._manager(order)
        if manager is None:
            return None
        try:
            result = service(order=order, by=manager, **kwargs)
        except ActionRefused as exc:
            self._say(f"  {order.number}: {what} refused ({exc.message})", verbosity=2)
            return None
        self._say(f"{order.number}: the merchant {what}")
        return result

    def _resolve_invalid_address(self, order):
        name, street, city, region, postal, country = next(
            (c for c in CUSTOMERS if c[5] == order.country), CUSTOMERS[0]
        )
        address = {
            "ship_name": order.ship_name or name,
            "address1": street,
            "address2": "",
            "city": city,
            "region": region,
            "postal_code": postal,
            "country": country,
        }
        self._merchant_does(order_edit_address, order, "corrected the address", address=address)

    def _resolve_product_configuration(self, order):
        """The merchant fixes the SKU in the shop, clean sweeps the order and imports it
        again under the same number (a reimport, linked to the swept row)."""
        swept = self._merchant_does(order_clean_sweep, order, "clean swept it to reimport")
        if swept is None:
            return
        replacement = (
            Product.objects.filter(merchant_id=order.merchant_id, connected=True)
            .filter(kind="stock" if order.flow == st.STOCK else "print")
            .exclude(stock__on_hand=0, kind="stock")
            .order_by("sku")
            .first()
        )
        lines = [
            {
                "sku": line.sku if line.product_id or replacement is None else replacement.sku,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),  # as a shop's JSON would carry it
            }
            for line in order.lines.all()
        ]
        data = {field: str(getattr(order, field)) for field in COPIED_FIELDS}
        if not ShipOptionMapping.objects.filter(
            merchant_id=order.merchant_id, store_option=order.ship_option
        ).exists():
            data["ship_option"] = "Standard"
        self._import(order.merchant, order.number, lines, **data, payment=Payment.PAID)

    def _resolve_not_connected(self, order):
        self._merchant_does(
            order_cancel, order, "cancelled it (product discontinued)", note="discontinued"
        )

    def _resolve_insufficient_inventory(self, order):
        self._merchant_does(
            order_cancel, order, "cancelled it (no restock soon)", note="sold out, no restock"
        )

    def _resolve_pending_personalization(self, order):
        self._merchant_does(
            order_complete_personalization, order, "marked the personalization complete"
        )

    def _resolve_pending_approval(self, order):
        if self.rng.random() < 0.8:
            self._step(order, "approve", note="Checked: fine to fulfil.")
        else:
            self._step(order, "decline", note="Declined: suspected fraud.")

    def _resolve_payment_refused(self, order):
        self._step(order, "mark_paid", by="payments", note="paid on the second attempt")

    def _resolve_special_requirements(self, order):
        self._step(order, "release", note="Clarified with the merchant.")
