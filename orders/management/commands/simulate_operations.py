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
from orders.importing import import_orders, parse_api_order
from orders.models import Merchant, Order, Product, ShipOptionMapping
from orders.queues import QUEUE_BY_VALUE
from orders.services import (
    DRAFT_FLAG,
    ActionRefused,
    order_cancel,
    order_transition,
)
from orders.statuses import Hold, Payment, Status
from orders.tracking import signed_headers

from ._simulated_merchants import MerchantsResolveHolds
from ._simulation_cast import (
    CARRIER_NEXT,
    CUSTOMERS,
    DESCRIPTIONS,
    INCIDENT_EVERY,
    MEAN_WAIT,
    NEW_ORDER_KINDS,
    PLACES,
    STAFF_STEPS,
    UNKNOWN_SKU,
)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(MerchantsResolveHolds, BaseCommand):
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
