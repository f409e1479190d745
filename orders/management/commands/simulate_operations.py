"""A live demo: every few seconds some orders take their next realistic step, so a merchant
trying the dashboard sees statuses change.

It does only what the real actors do, through the same doors: warehouse and production steps
through order_transition as a staff user, carrier updates as signed calls to the tracking
webhook (the real view, in-process), new orders through order_create (so the review step
accepts them, as after any import). Now and then a parcel hits a delivery exception, an order
is held for staff or a print file is rejected. It never accepts orders itself: that is review's.
"""

import datetime
import json
import random
import signal
import time
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections, connection, reset_queries
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import timezone

from orders import statuses as st
from orders.models import Merchant, Order, Product, ShipOptionMapping
from orders.queues import QUEUE_BY_VALUE
from orders.services import ActionRefused, order_create, order_transition
from orders.tracking import signed_headers

# The staff steps in the order a parcel meets them, each with the work queue it serves.
STAFF_STEPS = [
    ("to_pick", "start_pick"),
    ("picking", "finish_pick"),
    ("to_digitize", "start_digitizing"),
    ("to_upload", "start_upload"),
    ("file_check", "pass_file"),
    ("to_produce", "start_production"),
    ("in_production", "finish_production"),
    ("to_pack", "pack_and_label"),
    ("to_hand_over", "hand_over"),
]
# What a carrier reports next for a parcel in each Shipped state: (weight, code).
CARRIER_NEXT = {
    "shipped": [(95, "picked_up"), (5, "label_created")],
    # In transit: one "departed facility" scan (stored, no change), then out for delivery.
    "in_transit": [(100, "out_for_delivery")],
    "out_for_delivery": [(90, "delivered"), (10, "delivery_attempted")],
    "delivery_exception": [(55, "out_for_delivery"), (30, "in_transit"), (15, "returned")],
}
DESCRIPTIONS = {
    "label_created": "Shipping label created",
    "picked_up": "Picked up by carrier",
    "departed_facility": "Departed sort facility",
    "in_transit": "Arrived at carrier facility",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered, left at front door",
    "delivery_attempted": "Delivery attempted: no access to building",
    "returned": "Returned to sender: not collected",
}
CARRIER_BATCH = 3
PLACES = ["Newark, NJ", "Chicago, IL", "Memphis, TN", "Leipzig, DE", "Louisville, KY", "Reno, NV"]
CUSTOMERS = [
    ("Ava Smith", "1 Market Street", "New York", "NY", "10001", "US"),
    ("Liam Garcia", "200 Main Street", "Austin", "TX", "73301", "US"),
    ("Mia Müller", "Invalidenstraße 5", "Berlin", "", "10115", "DE"),
    ("Noah Martin", "12 Rue de Rivoli", "Paris", "", "75001", "FR"),
    ("Zoe Brown", "10 Downing Street", "London", "", "SW1A 2AA", "GB"),
    ("Kai Tanaka", "45 Pike Street", "Seattle", "WA", "98101", "US"),
]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _any(rng, queryset):
    """One random row without ORDER BY RANDOM() over a big table."""
    count = queryset.count()
    return queryset.order_by("pk")[rng.randrange(count)] if count else None


class Command(BaseCommand):
    help = "Advance demo orders through realistic fulfillment and carrier steps, live."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")
        parser.add_argument("--once", action="store_true", help="one round, then stop")
        parser.add_argument("--steps", type=int, default=0, help="stop after N rounds (0: run)")
        parser.add_argument(
            "--dwell",
            type=float,
            default=None,
            help="seconds an order stays in a state before its next step (default: 2 rounds)",
        )
        parser.add_argument(
            "--per-step", type=int, default=4, help="at most this many orders per step and round"
        )
        parser.add_argument(
            "--chance",
            type=float,
            default=0.75,
            help="chance that a due order takes its step this round (0 to 1)",
        )
        parser.add_argument(
            "--new-orders",
            type=float,
            default=0.35,
            help="chance per round that a new order comes in (0 to 1)",
        )
        parser.add_argument("--user", default="ops", help="the staff user doing warehouse steps")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG off (it changes orders!)"
        )

    def handle(self, *args, **opts):
        if not settings.DEBUG and not opts["force"]:
            raise CommandError(
                "simulate_operations changes orders; it runs only with DEBUG=1 (or --force)."
            )
        staff = get_user_model().objects.filter(username=opts["user"], is_staff=True).first()
        if staff is None:
            raise CommandError(f"No staff user {opts['user']!r}: run seed_demo or pass --user.")
        self.staff = staff
        self.rng = random.Random(opts["seed"])
        self.per_step = max(1, opts["per_step"])
        self.move_chance = min(max(opts["chance"], 0.0), 1.0)
        self.new_orders = opts["new_orders"]
        interval = max(0.0, opts["interval"])
        dwell = opts["dwell"] if opts["dwell"] is not None else 2 * interval
        self.dwell = datetime.timedelta(seconds=max(0.0, dwell))
        self.webhook_path = reverse("tracking_webhook")
        self.webhook = resolve(self.webhook_path).func
        rounds = 1 if opts["once"] else opts["steps"]
        # `make run` stops the simulator with SIGTERM when the server exits: leave quietly.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        self.stdout.write(
            f"Simulating operations every {interval:g}s as {staff.username} (Ctrl-C stops)."
        )
        done = 0
        try:
            while True:
                self.round()
                done += 1
                if rounds and done >= rounds:
                    break
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Simulation stopped.")
        finally:
            signal.signal(signal.SIGTERM, previous)

    # -- one round --------------------------------------------------------------------------

    def round(self):
        # A long-running process drops broken or expired connections between rounds, as a
        # request cycle would (never from inside a transaction, e.g. under a test).
        if not connection.in_atomic_block:
            close_old_connections()
        reset_queries()
        try:
            if self.rng.random() < self.new_orders:
                self.new_order()
            self.staff_steps()
            self.carrier_steps()
            self.incidents()
        except DatabaseError as exc:  # a busy database: try again next round
            self.stderr.write(f"database busy, skipping this round: {exc}")

    def _due(self, queryset, limit=None):
        """Up to `per_step` orders that have waited at least the dwell time in their state,
        longest waiting first, each moving with a fair chance so progress looks natural.
        First in, first out: every order (including the one a merchant is watching) keeps
        moving, and no queue grows without end."""
        due = queryset.filter(status_changed_at__lte=timezone.now() - self.dwell)
        oldest = due.order_by("status_changed_at", "id")[: limit or self.per_step]
        return [order for order in oldest if self.rng.random() < self.move_chance]

    def _step(self, order, name, by=None, params=None, note=""):
        try:
            moved = order_transition(
                order=order, name=name, by=by or self.staff, params=params, note=note
            )
        except ActionRefused as exc:
            self._say(f"  {order.number}: {name} skipped ({exc.message})", verbosity=2)
            return None
        self._say(f"{moved.number}: {order.sub_status_label} -> {moved.sub_status_label}")
        return moved

    def _say(self, text, verbosity=1):
        if self.verbosity >= verbosity:
            stamp = timezone.localtime().strftime("%H:%M:%S")
            self.stdout.write(f"[{stamp}] {text}")

    def execute(self, *args, **options):
        self.verbosity = options.get("verbosity", 1)
        return super().execute(*args, **options)

    # -- the warehouse and the production partner -------------------------------------------

    def staff_steps(self):
        for queue_name, name in STAFF_STEPS:
            queue = QUEUE_BY_VALUE[queue_name]
            for order in self._due(queue.apply(Order.objects.all())):
                params = self._hand_over_params(order) if name == "hand_over" else None
                self._step(order, name, params=params)

    def _hand_over_params(self, order):
        carrier, service = order.carrier, order.service
        if not carrier:
            mapping = ShipOptionMapping.objects.filter(
                merchant_id=order.merchant_id, store_option=order.ship_option
            ).first()
            carrier, service = (mapping.carrier, mapping.service) if mapping else ("UPS", "")
        return {
            "carrier": carrier,
            "service": service,
            "tracking_number": self._tracking_number(carrier),
        }

    def _tracking_number(self, carrier):
        digits = lambda n: "".join(self.rng.choice("0123456789") for _ in range(n))  # noqa: E731
        key = carrier.lower().replace(" ", "")
        if key == "ups":
            return "1Z" + "".join(
                self.rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(16)
            )
        if key == "usps":
            return "9400" + digits(18)
        if key == "fedex":
            return digits(12)
        if key.startswith("dhl"):
            return digits(10)
        return "SIM" + digits(12)

    # -- the carrier, through the signed webhook --------------------------------------------

    def carrier_steps(self):
        # A carrier scans many parcels a round: a wider batch than a warehouse step.
        batch = self.per_step * CARRIER_BATCH
        for status, choices in CARRIER_NEXT.items():
            queue = Order.objects.filter(status=status).exclude(tracking_number="")
            for order in self._due(queue, batch):
                weights, codes = zip(*choices, strict=True)
                code = self.rng.choices(codes, weights=weights)[0]
                if (
                    status == "in_transit"
                    and not order.tracking_events.filter(code="departed_facility").exists()
                ):
                    code = "departed_facility"
                self.carrier_event(order, code)

    def carrier_event(self, order, code):
        """Post one carrier event for `order` to the real webhook view, signed like a carrier."""
        body = json.dumps(
            {
                "event_id": f"sim-{uuid.uuid4()}",
                "tracking_number": order.tracking_number,
                "carrier": order.carrier,
                "code": code,
                "description": DESCRIPTIONS.get(code, code),
                "location": self.rng.choice(PLACES),
                "occurred_at": timezone.now().isoformat(),
            }
        ).encode()
        headers = signed_headers(settings.TRACKING_WEBHOOK_SECRET, body)
        request = RequestFactory().post(
            self.webhook_path, data=body, content_type="application/json", headers=headers
        )
        response = self.webhook(request)
        answer = json.loads(response.content or b"{}")
        if response.status_code != 200:
            self._say(f"  {order.number}: carrier event refused: {answer.get('error')}")
        elif answer.get("status") == "applied":
            label = st.state(answer["order_status"]).label
            self._say(f"{order.number}: carrier {code} -> {label}")
        else:
            self._say(f"  {order.number}: carrier {code} ({answer.get('detail')})", verbosity=2)
        return response

    # -- the odd incident, and new business -------------------------------------------------

    def incidents(self):
        roll = self.rng.random()
        if roll < 0.03:
            order = _any(self.rng, Order.objects.filter(status__in=["processing", "picked"]))
            if order:
                self._step(
                    order,
                    "hold",
                    params={
                        "reason": "special_requirements",
                        "note": "Gift message needs clarifying with the merchant.",
                    },
                )
        elif roll < 0.05:
            order = _any(self.rng, Order.objects.filter(status="uploading"))
            if order:
                self._step(
                    order,
                    "fail",
                    params={"reason": "Artwork rejected: image resolution below 150 dpi."},
                )
        # Staff clarify held orders after a while; they go back to review.
        for order in self._due(
            Order.objects.filter(status="action_required", hold_reason="special_requirements")
        )[:1]:
            if self.rng.random() < 0.3:
                self._step(order, "release", note="Clarified with the merchant.")

    def new_order(self):
        merchant = (
            Merchant.objects.filter(products__connected=True).distinct().order_by("?").first()
        )
        if merchant is None:
            return None
        products = list(
            Product.objects.filter(merchant=merchant, connected=True)
            .exclude(stock__on_hand=0, kind="stock")
            .distinct()
        )
        if not products:
            return None
        kind = self.rng.choice(sorted({p.kind for p in products}))
        chosen = [p for p in products if p.kind == kind]
        chosen = self.rng.sample(chosen, k=min(len(chosen), self.rng.randint(1, 2)))
        lines = [
            {"sku": p.sku, "quantity": self.rng.randint(1, 2), "unit_price": Decimal("24.00")}
            for p in chosen
        ]
        name, street, city, region, postal, country = self.rng.choice(CUSTOMERS)
        option = (
            merchant.ship_options.filter(store_option="Standard").first()
            or merchant.ship_options.first()
        )
        number = f"SIM-{timezone.now():%m%d%H%M%S}-{self.rng.randint(100, 999)}"
        order = order_create(
            merchant=merchant,
            by="import",
            number=number,
            lines=lines,
            customer_name=name,
            customer_email=f"{name.split()[0].lower()}@example.com",
            ship_name=name,
            address1=street,
            city=city,
            region=region,
            postal_code=postal,
            country=country,
            ship_option=option.store_option if option else "",
            total=sum(line["unit_price"] * line["quantity"] for line in lines),
            currency="EUR" if country in ("DE", "FR") else "USD",
        )
        self._say(f"{order.number}: new order from {merchant.name}")
        # The shop's payment provider confirms the payment straight away.
        order = Order.objects.get(pk=order.pk)
        try:
            order = order_transition(order=order, name="mark_paid", by="payments")
        except ActionRefused as exc:
            self._say(f"  {order.number}: payment not confirmed ({exc.message})", verbosity=2)
        return order
