"""A live demo that stays alive: orders keep arriving, moving, getting held and released, so
every status tab and sub-status keeps orders in it for hours, and the database stays small.

It does only what the real actors do, through the same doors:
- the shop sends new orders through the importer (as the JSON API does); some of them are
  held by review, one kind for each hold reason (a bad address, an unknown SKU, a product
  that is not connected or sold out, unfinished personalization, manual approval, a refused
  payment); a few come in as drafts;
- the merchant's manager resolves holds through the merchant services (edit the address,
  finish personalization, clean sweep and reimport, cancel, submit a draft), the payment
  provider confirms a refused payment, staff approve, decline or release;
- warehouse and production steps go through order_transition as a staff user; carrier updates
  are signed calls to the tracking webhook (the real view, in-process).
It never accepts or holds an order itself: that is review's (inline on the default task
backend, or a task worker).

The pace: each step has a mean waiting time in simulated seconds (MEAN_WAIT); every round
stands for --interval seconds, and each waiting order takes its step with the chance that
gives that mean, the longest waiting first. Each merchant keeps its newest --keep order(s) in
every state (a warehouse never clears its last one), so no tab or sub-status runs dry. New
orders stop at --max-orders in all, so a run of a day or a week cannot grow the database
without bound (`make reset` starts a fresh demo).
"""

import json
import math
import random
import signal
import time
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections, connection, reset_queries
from django.db.models import Count
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import timezone

from orders import statuses as st
from orders.holds import order_complete_personalization
from orders.importing import import_orders, parse_api_order
from orders.models import Membership, Merchant, Order, Product, ShipOptionMapping
from orders.queues import QUEUE_BY_VALUE
from orders.services import (
    DRAFT_FLAG,
    ActionRefused,
    order_cancel,
    order_clean_sweep,
    order_edit_address,
    order_submit,
    order_transition,
)
from orders.statuses import Hold, Payment, Status
from orders.tracking import (
    CODE_DELIVERED,
    CODE_IN_TRANSIT,
    CODE_OUT_FOR_DELIVERY,
    CODE_RETURNED,
    signed_headers,
)

# Mean seconds an order waits before each next step (demo time: a working day in minutes;
# a stock order takes about 20 minutes from arrival to the customer's door).
MEAN_WAIT = {
    # staff work queues (orders.queues) and the transition that empties each
    "to_pick": 180,
    "picking": 120,
    "to_digitize": 240,
    "to_upload": 150,
    "file_check": 120,
    "to_produce": 120,
    Status.IN_PRODUCTION: 240,
    "to_pack": 120,
    "to_hand_over": 150,
    # the carrier, per Shipped state
    Status.SHIPPED: 180,
    Status.IN_TRANSIT: 180,
    Status.OUT_FOR_DELIVERY: 180,
    Status.DELIVERY_EXCEPTION: 240,
    # holds, per reason, and drafts
    Hold.INVALID_ADDRESS: 420,
    Hold.PRODUCT_CONFIGURATION: 480,
    Hold.NOT_CONNECTED: 600,
    Hold.INSUFFICIENT_INVENTORY: 600,
    Hold.PENDING_PERSONALIZATION: 420,
    Hold.PENDING_APPROVAL: 360,
    Hold.PAYMENT_REFUSED: 360,
    Hold.SPECIAL_REQUIREMENTS: 360,
    Status.DRAFT: 900,
}
# The odd incident: mean seconds between two of each.
INCIDENT_EVERY = {Hold.SPECIAL_REQUIREMENTS: 360, "artwork_rejected": 600, "merchant_cancels": 720}
STAFF_STEPS = [
    ("to_pick", "start_pick"),
    ("picking", "finish_pick"),
    ("to_digitize", "start_digitizing"),
    ("to_upload", "start_upload"),
    ("file_check", "pass_file"),
    ("to_produce", "start_production"),
    (Status.IN_PRODUCTION, "finish_production"),
    ("to_pack", "pack_and_label"),
    ("to_hand_over", "hand_over"),
]
# What a carrier reports next for a parcel in each Shipped state: (weight, code).
CARRIER_NEXT = {
    Status.SHIPPED: [(95, "picked_up"), (5, "label_created")],
    # In transit: one "departed facility" scan (stored, no change), then out for delivery.
    Status.IN_TRANSIT: [(100, CODE_OUT_FOR_DELIVERY)],
    Status.OUT_FOR_DELIVERY: [(90, CODE_DELIVERED), (10, "delivery_attempted")],
    Status.DELIVERY_EXCEPTION: [
        (55, CODE_OUT_FOR_DELIVERY),
        (30, CODE_IN_TRANSIT),
        (15, CODE_RETURNED),
    ],
}
DESCRIPTIONS = {
    "label_created": "Shipping label created",
    "picked_up": "Picked up by carrier",
    "departed_facility": "Departed sort facility",
    CODE_IN_TRANSIT: "Arrived at carrier facility",
    CODE_OUT_FOR_DELIVERY: "Out for delivery",
    CODE_DELIVERED: "Delivered, left at front door",
    "delivery_attempted": "Delivery attempted: no access to building",
    CODE_RETURNED: "Returned to sender: not collected",
}
# What kind of order the shop sends next (weights): most are fine, some are held by review
# for each reason a shop's order can be, and a few are saved as drafts.
NEW_ORDER_KINDS = [
    ("fine", 68),
    (Hold.INVALID_ADDRESS, 5),
    (Hold.PRODUCT_CONFIGURATION, 4),
    (Hold.NOT_CONNECTED, 3),
    (Hold.INSUFFICIENT_INVENTORY, 4),
    (Hold.PENDING_PERSONALIZATION, 4),
    (Hold.PENDING_APPROVAL, 4),
    (Hold.PAYMENT_REFUSED, 4),
    (Status.DRAFT, 4),
]
UNKNOWN_SKU = "TEE-BLK-XXL"  # a typo in the shop: review holds it (product configuration)
PLACES = ["Newark, NJ", "Chicago, IL", "Memphis, TN", "Leipzig, DE", "Louisville, KY", "Reno, NV"]
CUSTOMERS = [
    ("Ava Smith", "1 Market Street", "New York", "NY", "10001", "US"),
    ("Liam Garcia", "200 Main Street", "Austin", "TX", "73301", "US"),
    ("Mia Müller", "Invalidenstraße 5", "Berlin", "", "10115", "DE"),
    ("Noah Martin", "12 Rue de Rivoli", "Paris", "", "75001", "FR"),
    ("Zoe Brown", "10 Downing Street", "London", "", "SW1A 2AA", "GB"),
    ("Kai Tanaka", "45 Pike Street", "Seattle", "WA", "98101", "US"),
]
ADDRESS_FIELDS = ["ship_name", "address1", "address2", "city", "region", "postal_code", "country"]
COPIED_FIELDS = [
    "customer_name",
    "customer_email",
    *ADDRESS_FIELDS,
    "ship_option",
    "currency",
    "total",
]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Keep the demo alive: new orders, holds and their resolution, fulfillment, carriers."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="seconds between rounds; each round stands for this much time",
        )
        parser.add_argument(
            "--fast", action="store_true", help="no pause between rounds (a round still counts)"
        )
        parser.add_argument("--once", action="store_true", help="one round, then stop")
        parser.add_argument("--steps", type=int, default=0, help="stop after N rounds (0: run)")
        parser.add_argument(
            "--pace",
            type=float,
            default=1.0,
            help="multiplies every mean waiting time (0: every waiting order moves each round)",
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=1,
            help="orders each merchant keeps waiting in every state (so no tab runs dry)",
        )
        parser.add_argument(
            "--orders-per-hour", type=float, default=150.0, help="new orders the shops send"
        )
        parser.add_argument(
            "--max-orders",
            type=int,
            default=5000,
            help="no new orders once the database holds this many (0: no limit)",
        )
        parser.add_argument("--user", default="ops", help="the staff user doing warehouse steps")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG off (it changes orders!)"
        )

    def handle(self, *args, **opts):
        self.configure(**opts)
        rounds = 1 if opts["once"] else opts["steps"]
        # `make run` stops the simulator with SIGTERM when the server exits: leave quietly.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        self._say(
            f"Simulating operations every {self.seconds:g}s as {self.staff.username}, "
            f"about {opts['orders_per_hour']:g} new orders an hour up to "
            f"{self.max_orders or 'no limit'} in all (Ctrl-C stops)."
        )
        done = 0
        try:
            while True:
                self.round()
                done += 1
                if rounds and done >= rounds:
                    break
                if not opts["fast"]:
                    time.sleep(self.seconds)
        except KeyboardInterrupt:
            self._say("Simulation stopped.")
        finally:
            signal.signal(signal.SIGTERM, previous)

    def configure(
        self,
        *,
        interval=5.0,
        pace=1.0,
        keep=1,
        orders_per_hour=150.0,
        max_orders=5000,
        user="ops",
        seed=None,
        force=False,
        **_ignored,
    ):
        """Everything a round needs; tests call this and then round() themselves."""
        if not settings.DEBUG and not force:
            raise CommandError(
                "simulate_operations changes orders; it runs only with DEBUG=1 (or --force)."
            )
        staff = get_user_model().objects.filter(username=user, is_staff=True).first()
        if staff is None:
            raise CommandError(f"No staff user {user!r}: run seed_demo or pass --user.")
        self.staff = staff
        self.rng = random.Random(seed)
        self.seconds = max(0.0, interval)
        self.pace = max(0.0, pace)
        self.keep = max(0, keep)
        self.arrivals = max(0.0, orders_per_hour) * self.seconds / 3600
        self.max_orders = max(0, max_orders)
        self.webhook_path = reverse("tracking_webhook")
        self.webhook = resolve(self.webhook_path).func
        self.moved = set()
        self.full = False

    def execute(self, *args, **options):
        self.verbosity = options.get("verbosity", 1)
        return super().execute(*args, **options)

    # -- one round --------------------------------------------------------------------------

    def round(self):
        # A long-running process drops broken or expired connections between rounds, as a
        # request cycle would (never from inside a transaction, e.g. under a test).
        if not connection.in_atomic_block:
            close_old_connections()
        reset_queries()
        self.moved = set()  # an order takes at most one step a round
        try:
            for _ in range(self._how_many(self.arrivals)):
                self.new_order()
            self.staff_steps()
            self.carrier_steps()
            self.resolve_holds()
            self.incidents()
        except DatabaseError as exc:  # a busy database: try again next round
            self.stderr.write(f"database busy, skipping this round: {exc}")

    def _how_many(self, expected):
        """A whole number of events with `expected` as its mean."""
        whole = int(expected)
        return whole + (1 if self.rng.random() < expected - whole else 0)

    def _chance(self, mean):
        """The chance that a waiting order moves this round, for a mean wait of `mean`."""
        mean *= self.pace
        return 1.0 if mean <= 0 else 1 - math.exp(-self.seconds / mean)

    def _turns(self, queryset, wait):
        """The orders of `queryset` that take their step this round: of each merchant's
        orders in each state, all but the newest `keep` move with the chance for the step's
        mean wait, the longest waiting first (so every order, including the one a merchant
        watches, moves on)."""
        chance = self._chance(MEAN_WAIT[wait])
        chosen = []
        for group, movable in self._movable(queryset):
            turns = sum(self.rng.random() < chance for _ in range(movable))
            if turns:
                chosen += list(group[:turns])
        self.moved.update(order.pk for order in chosen)
        return chosen

    def _movable(self, queryset):
        """[(that merchant's orders in that state, oldest first; how many may move)] for each
        merchant and state in `queryset`, leaving the newest `keep` of each where they are."""
        waiting = queryset.exclude(pk__in=self.moved)
        counts = waiting.values_list("merchant_id", "status").annotate(n=Count("id")).order_by()
        return [
            (
                waiting.filter(merchant_id=merchant_id, status=status).order_by(
                    "status_changed_at", "id"
                ),
                n - self.keep,
            )
            for merchant_id, status, n in sorted(counts)
            if n > self.keep
        ]

    def _happens(self, every):
        """Whether an incident that comes once every `every` seconds (on average, whatever
        the pace) comes this round."""
        return self.rng.random() < 1 - math.exp(-self.seconds / every)

    def _step(self, order, name, by=None, params=None, note=""):
        try:
            moved = order_transition(
                order=order, name=name, by=by or self.staff, params=params, note=note
            )
        except ActionRefused as exc:
            self._say(f"  {order.number}: {name} skipped ({exc.message})", verbosity=2)
            return None
        self.moved.add(moved.pk)
        self._say(f"{moved.number}: {order.sub_status_label} -> {moved.sub_status_label}")
        return moved

    def _say(self, text, verbosity=1):
        if getattr(self, "verbosity", 1) >= verbosity:
            stamp = timezone.localtime().strftime("%H:%M:%S")
            self.stdout.write(f"[{stamp}] {text}")
            self.stdout.flush()  # a log file shows each line as it happens

    # -- the warehouse and the production partner -------------------------------------------

    def staff_steps(self):
        for queue_name, name in STAFF_STEPS:
            queue = QUEUE_BY_VALUE[queue_name]
            for order in self._turns(queue.apply(Order.objects.all()), queue_name):
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
        for status, choices in CARRIER_NEXT.items():
            queue = Order.objects.filter(status=status).exclude(tracking_number="")
            for order in self._turns(queue, status):
                weights, codes = zip(*choices, strict=True)
                code = self.rng.choices(codes, weights=weights)[0]
                if (
                    status == Status.IN_TRANSIT
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

    # -- holds and drafts: the merchant, the customer, the payment provider, staff ------------

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

    # -- the odd incident, and new business -------------------------------------------------

    def incidents(self):
        if self._happens(INCIDENT_EVERY[Hold.SPECIAL_REQUIREMENTS]):
            order = self._any(Order.objects.filter(status__in=[Status.PROCESSING, Status.PICKED]))
            if order:
                self._step(
                    order,
                    "hold",
                    params={
                        "reason": Hold.SPECIAL_REQUIREMENTS,
                        "note": "Gift message needs clarifying with the merchant.",
                    },
                )
        if self._happens(INCIDENT_EVERY["artwork_rejected"]):
            order = self._any(Order.objects.filter(status=Status.UPLOADING))
            if order:
                self._step(
                    order,
                    "fail",
                    params={"reason": "Artwork rejected: image resolution below 150 dpi."},
                )
        if self._happens(INCIDENT_EVERY["merchant_cancels"]):
            order = self._any(Order.objects.filter(status=Status.PROCESSING))
            if order:
                self._merchant_does(
                    order_cancel, order, "cancelled it (customer changed their mind)"
                )

    def _any(self, queryset):
        """One random order of `queryset` that may move (beyond each state's keep), without
        ORDER BY RANDOM() over a big table."""
        movable = self._movable(queryset)
        pick = self.rng.randrange(sum(n for _group, n in movable) or 1)
        for group, n in movable:
            if pick < n:
                order = group[pick]
                self.moved.add(order.pk)
                return order
            pick -= n
        return None

    def new_order(self, kind=None):
        """The shop sends one order through the importer, as its API client would: `kind`
        (one of NEW_ORDER_KINDS) or a random one."""
        if self.max_orders and Order.objects.count() >= self.max_orders:
            if not self.full:
                self._say(
                    f"{self.max_orders} orders in the database: no new orders from now on "
                    "(`make reset` starts a fresh demo)."
                )
            self.full = True
            return None
        merchants = list(
            Merchant.objects.filter(products__connected=True)
            .annotate(n=Count("orders", distinct=True))
            .distinct()
            .order_by("pk")
        )
        if not merchants:
            return None
        merchant = self.rng.choices(merchants, weights=[1 + m.n for m in merchants])[0]
        products = list(
            Product.objects.filter(merchant=merchant, connected=True)
            .exclude(stock__on_hand=0, kind="stock")
            .distinct()
            .order_by("sku")
        )
        if not products:
            return None
        kinds, weights = zip(*NEW_ORDER_KINDS, strict=True)
        kind = kind or self.rng.choices(kinds, weights=weights)[0]
        flow = self.rng.choice(sorted({p.kind for p in products}))
        chosen = [p for p in products if p.kind == flow]
        chosen = self.rng.sample(chosen, k=min(len(chosen), self.rng.randint(1, 2)))
        lines = [
            {"sku": p.sku, "quantity": self.rng.randint(1, 2), "unit_price": "24.00"}
            for p in chosen
        ]
        name, street, city, region, postal, country = self.rng.choice(CUSTOMERS)
        option = (
            merchant.ship_options.filter(store_option="Standard").first()
            or merchant.ship_options.first()
        )
        data = {
            "customer_name": name,
            "customer_email": f"{name.split()[0].lower()}@example.com",
            "ship_name": name,
            "address1": street,
            "city": city,
            "region": region,
            "postal_code": postal,
            "country": country,
            "ship_option": option.store_option if option else "",
            "currency": "EUR" if country in ("DE", "FR") else "USD",
            "payment": Payment.PAID,
        }
        if kind == Hold.INVALID_ADDRESS:
            data["postal_code"] = ""
        elif kind == Hold.PRODUCT_CONFIGURATION:
            lines[0]["sku"] = UNKNOWN_SKU
        elif kind == Hold.NOT_CONNECTED:
            lines = self._lines_of(merchant, connected=False) or lines
        elif kind == Hold.INSUFFICIENT_INVENTORY:
            lines = self._lines_of(merchant, sold_out=True) or lines
        elif kind == Hold.PENDING_PERSONALIZATION:
            lines[0]["personalization"] = "Name on the back: (waiting for the buyer)"
            lines[0]["personalization_complete"] = "no"
        elif kind == Hold.PENDING_APPROVAL:
            data["needs_approval"] = "yes"
        elif kind == Hold.PAYMENT_REFUSED:
            data["payment"] = Payment.REFUSED
        elif kind == Status.DRAFT:
            data[DRAFT_FLAG] = "yes"
        number = self._new_number(merchant)
        order = self._import(merchant, number, lines, **data)
        if order is not None:
            extra = "" if kind == "fine" else f" ({kind.replace('_', ' ')})"
            self._say(f"{order.number}: new order from {merchant.name}{extra}")
        return order

    def _lines_of(self, merchant, *, connected=True, sold_out=False):
        products = Product.objects.filter(merchant=merchant, connected=connected)
        if sold_out:
            products = products.filter(kind="stock", stock__on_hand=0).distinct()
        product = products.order_by("sku").first()
        if product is None:
            return None
        return [{"sku": product.sku, "quantity": 1, "unit_price": "24.00"}]

    def _new_number(self, merchant):
        while True:
            number = f"SIM-{self.rng.randint(100000, 999999)}"
            if not Order.objects.filter(merchant=merchant, number=number).exists():
                return number

    def _import(self, merchant, number, lines, **data):
        order_input = parse_api_order({"number": number, **data, "lines": lines})
        outcomes = import_orders(merchant=merchant, inputs=[order_input], by="shop sync")
        made = next((o.order for o in outcomes if o.ok), None)
        if made is None:
            problems = "; ".join(f"{o.outcome} {o.field}: {o.message}" for o in outcomes)
            self.stderr.write(f"  {number}: the import refused it ({problems})")
        return made
