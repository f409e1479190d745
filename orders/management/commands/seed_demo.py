"""Demo data: two merchants, two facilities, products of every kind, stock, ship-option
mappings, and about 500 orders spread over every state and hold reason.

Every order is created through order_create and moved through the real transitions, so its
history is what the product would have written. Only timestamps are then spread back over
the last weeks (plain column updates of created/changed times, never of status fields) so the
lists look like a real month. Running it again changes nothing.
"""

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from orders import hold_detail
from orders import statuses as st
from orders.event_models import Event, InboxState
from orders.models import (
    FulfillmentCenter,
    InventoryLevel,
    Membership,
    Merchant,
    Order,
    OrderLine,
    Product,
    ShipOptionMapping,
    StatusChange,
)
from orders.notify_tasks import paused as notify_paused
from orders.services import order_create, order_transition
from orders.statuses import Action, Hold, Status
from orders.tasks import reviews_deferred
from orders.webhooks.demo_receiver import DEMO_PORT, DEMO_SECRET
from orders.webhooks.models import WebhookEndpoint
from orders.webhooks.services import new_secret

DEMO_PASSWORD = "demo-pass-2026"
LOGINS = [
    ("manager", "Merchant manager (Acme Outfitters)"),
    ("viewer", "Merchant viewer (Acme Outfitters)"),
    ("ops", "Operations staff (Django admin)"),
    ("northwind", "Merchant manager (Northwind Prints)"),
]

STOCK_PATH = ["accept", "start_pick", "finish_pick", "pack_and_label", "hand_over"]
PRINT_PATH = [
    "accept",
    "start_upload",
    "pass_file",
    "start_production",
    "finish_production",
    "pack_and_label",
    "hand_over",
]
EMBROIDERY_PATH = ["accept", "start_digitizing", *PRINT_PATH[1:]]
# The carrier transition named like the state it leads to.
OUT_FOR_DELIVERY = Order.out_for_delivery.__name__
CARRIER_STEPS = {
    Status.SHIPPED: [],
    Status.IN_TRANSIT: ["scan"],
    Status.OUT_FOR_DELIVERY: ["scan", OUT_FOR_DELIVERY],
    Status.DELIVERED: ["scan", OUT_FOR_DELIVERY, "deliver"],
    Status.DELIVERY_EXCEPTION: ["scan", "exception"],
    Status.RETURNED: ["scan", "exception", "return_to_sender"],
}
MACHINE_STEPS = {"accept", "scan", OUT_FOR_DELIVERY, "deliver", "exception", "return_to_sender"}

# How often each final demo state appears (relative weights).
TARGETS = {
    Status.DELIVERED: 120,
    Status.IN_TRANSIT: 45,
    Status.SHIPPED: 20,
    Status.OUT_FOR_DELIVERY: 12,
    Status.DELIVERY_EXCEPTION: 8,
    Status.RETURNED: 4,
    Status.LABELED: 14,
    Status.PROCESSING: 25,
    Status.PICK_IN_PROCESS: 16,
    Status.PICKED: 10,
    Status.DIGITIZING: 5,
    Status.UPLOADING: 8,
    Status.PASSED: 6,
    Status.IN_PRODUCTION: 12,
    Status.PRINTED: 8,
    Status.IMPORT_REVIEW: 10,
    Status.ACTION_REQUIRED: 48,
    Status.FAILED: 8,
    Status.CANCELLED: 20,
    Status.CLEAN_SWEPT: 6,
    Status.DRAFT: 8,
}
STOCK_ONLY = {Status.PICK_IN_PROCESS, Status.PICKED}
PRINT_ONLY = {
    Status.DIGITIZING,
    Status.UPLOADING,
    Status.PASSED,
    Status.IN_PRODUCTION,
    Status.PRINTED,
}

FIRST = [
    "Ava",
    "Liam",
    "Mia",
    "Noah",
    "Zoe",
    "Ethan",
    "Lena",
    "Omar",
    "Ines",
    "Kai",
    "Sara",
    "Jonas",
    "Priya",
    "Mateo",
    "Chloe",
    "Yuki",
    "Nora",
    "Felix",
    "Amara",
    "Leo",
]
LAST = [
    "Smith",
    "Garcia",
    "Müller",
    "Martin",
    "Brown",
    "Dubois",
    "Nguyen",
    "Rossi",
    "Kowalski",
    "Tanaka",
    "Okafor",
    "Jensen",
    "Silva",
    "Cohen",
    "Patel",
    "Schmidt",
    "Lee",
    "Moreau",
]
ADDRESSES = [
    ("US", "NY", "New York", "10001"),
    ("US", "CA", "Los Angeles", "90012"),
    ("US", "TX", "Austin", "73301"),
    ("US", "WA", "Seattle", "98101"),
    ("CA", "ON", "Toronto", "M5V 2T6"),
    ("GB", "", "London", "SW1A 1AA"),
    ("DE", "", "Berlin", "10115"),
    ("FR", "", "Paris", "75001"),
    ("AU", "NSW", "Sydney", "2000"),
]
CARRIERS = [
    ("UPS", "Ground"),
    ("USPS", "Priority Mail"),
    ("FedEx", "Home Delivery"),
    ("DHL", "Express Worldwide"),
]


class Command(BaseCommand):
    help = "Load demo merchants, facilities, products and ~500 orders (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=450, help="orders for the main merchant")

    def handle(self, *args, orders, **options):
        rng = random.Random(2026)
        users = self._users()
        centers = self._centers()
        acme = self._merchant("acme", "Acme Outfitters", users, ["manager", "viewer"], centers)
        north = self._merchant("northwind", "Northwind Prints", users, ["northwind"], centers)
        created = 0
        # The demo drives each order to its state itself: the review task must not act on
        # the orders it creates (those left in Import Review stay there, some flagged stuck).
        with reviews_deferred(), notify_paused():
            for merchant, count, prefix in [
                (acme, orders, "AC"),
                (north, max(orders // 9, 10), "NW"),
            ]:
                if merchant.orders.exists():
                    continue
                created += self._orders(merchant, count, prefix, rng, users, centers)
            if created:
                self._events_already_told(users)
        self._webhook_endpoints(acme)
        if created:
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {created} orders."))
        else:
            self.stdout.write("Demo data already present; nothing changed.")

    # -- telling merchants (issue 13) -------------------------------------------------------

    def _events_already_told(self, users):
        """The demo's history happened "before": its events count as dispatched, e-mailed
        and read, so the demo starts with an empty bell and only what moves now is sent."""
        now = timezone.now()
        Event.objects.filter(dispatched_at=None).update(dispatched_at=now, mailed=True)
        for membership in Membership.objects.select_related("merchant"):
            latest = Event.objects.filter(merchant=membership.merchant).order_by("-id").first()
            InboxState.objects.update_or_create(
                user=membership.user,
                merchant=membership.merchant,
                defaults={"read_through": latest.pk if latest else 0},
            )

    def _webhook_endpoints(self, acme):
        """Acme's two demo endpoints: the receiver `make run` starts (deliveries succeed)
        and a closed port (deliveries are retried). Made directly, not through the service:
        demo addresses are loopback, which real endpoints may never be."""
        demo = [
            (f"http://127.0.0.1:{DEMO_PORT}/webhooks", "Demo receiver (make run)", DEMO_SECRET),
            ("http://127.0.0.1:9/webhooks", "Closed port: shows retries", new_secret()),
        ]
        for url, description, secret in demo:
            WebhookEndpoint.objects.get_or_create(
                merchant=acme, url=url, defaults={"description": description, "secret": secret}
            )

    # -- reference data ---------------------------------------------------------------------

    def _users(self):
        User = get_user_model()
        users = {}
        for username, _label in LOGINS:
            user, made = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if made:
                user.set_password(DEMO_PASSWORD)
                if username == "ops":
                    user.is_staff = True
                    user.is_superuser = True
                user.save()
            users[username] = user
        return users

    def _centers(self):
        specs = [
            ("NJ1", "Newark Warehouse", "US", "America/New_York", True, True),
            ("LEJ", "Leipzig Warehouse", "DE", "Europe/Berlin", True, True),
        ]
        centers = []
        for code, name, country, tz, stock, prints in specs:
            center, _ = FulfillmentCenter.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "country": country,
                    "time_zone": tz,
                    "handles_stock": stock,
                    "handles_print": prints,
                },
            )
            centers.append(center)
        return centers

    def _merchant(self, slug, name, users, members, centers):
        merchant, _ = Merchant.objects.get_or_create(slug=slug, defaults={"name": name})
        for username in members:
            role = "viewer" if username == "viewer" else "manager"
            Membership.objects.get_or_create(
                user=users[username], merchant=merchant, defaults={"role": role}
            )
        catalog = [
            ("TEE-BLK-M", "Classic tee, black, M", "stock"),
            ("TEE-WHT-L", "Classic tee, white, L", "stock"),
            ("MUG-11", "Enamel mug 11oz", "stock"),
            ("CAP-NVY", "Navy cap", "stock"),
            ("SOLD-OUT-01", "Limited hoodie (sold out)", "stock"),
            ("POSTER-A2", "Art poster A2", "print"),
            ("TOTE-PRINT", "Printed tote bag", "print"),
            ("HOOD-EMB", "Embroidered hoodie", "embroidery"),
            ("LEGACY-99", "Old product (not connected)", "stock"),
        ]
        for sku, pname, kind in catalog:
            product, _ = Product.objects.get_or_create(
                merchant=merchant,
                sku=sku,
                defaults={"name": pname, "kind": kind, "connected": sku != "LEGACY-99"},
            )
            if kind == "stock":
                for center in centers:
                    on_hand = 0 if sku == "SOLD-OUT-01" else 5000
                    InventoryLevel.objects.get_or_create(
                        center=center, product=product, defaults={"on_hand": on_hand}
                    )
        for option, carrier, service in [
            ("Standard", "USPS", "Ground Advantage"),
            ("Express", "UPS", "Next Day Air"),
            ("International", "DHL", "Express Worldwide"),
        ]:
            ShipOptionMapping.objects.get_or_create(
                merchant=merchant,
                store_option=option,
                defaults={"carrier": carrier, "service": service},
            )
        return merchant

    # -- orders -----------------------------------------------------------------------------

    def _orders(self, merchant, count, prefix, rng, users, centers):
        targets = rng.choices(list(TARGETS), weights=list(TARGETS.values()), k=count)
        # Every state and every hold reason appears at least once.
        holds = [h.value for h in st.HOLD_REASONS]
        targets[: len(TARGETS) + len(holds)] = [*TARGETS, *[Status.ACTION_REQUIRED] * len(holds)]
        manager = next(
            m.user for m in merchant.memberships.select_related("user") if m.role == "manager"
        )
        now = timezone.now()
        held = 0
        for i, target in enumerate(targets):
            with transaction.atomic():
                order = self._one_order(merchant, f"{prefix}-{10001 + i}", target, rng, centers)
                reason = None
                if target == Status.ACTION_REQUIRED:
                    reason, held = holds[held % len(holds)], held + 1
                self._drive(order, target, reason, rng, users, manager, centers)
                self._spread_times(order.pk, now, rng, target)
        return count

    def _one_order(self, merchant, number, target, rng, centers):
        if target in PRINT_ONLY:
            kind = (
                "embroidery" if target == Status.DIGITIZING else rng.choice(["print", "embroidery"])
            )
        elif target in STOCK_ONLY:
            kind = "stock"
        else:
            kind = rng.choices(["stock", "print", "embroidery"], weights=[6, 3, 1])[0]
        skus = {
            "stock": ["TEE-BLK-M", "TEE-WHT-L", "MUG-11", "CAP-NVY"],
            "print": ["POSTER-A2", "TOTE-PRINT"],
            "embroidery": ["HOOD-EMB"],
        }[kind]
        lines = [
            {"sku": sku, "quantity": rng.randint(1, 3), "unit_price": Decimal("24.00")}
            for sku in rng.sample(skus, k=min(len(skus), rng.randint(1, 2)))
        ]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country, region, city, postal = rng.choice(ADDRESSES)
        option = (
            "International" if country not in ("US", "CA") else rng.choice(["Standard", "Express"])
        )
        total = sum(line["unit_price"] * line["quantity"] for line in lines)
        return order_create(
            merchant=merchant,
            by="import",
            number=number,
            lines=lines,
            draft=target == Status.DRAFT,
            customer_name=f"{first} {last}",
            customer_email=f"{first}.{last}{rng.randint(1, 99)}@example.com".lower(),
            ship_name=f"{first} {last}",
            address1=f"{rng.randint(1, 400)} Market Street",
            city=city,
            region=region,
            postal_code=postal,
            country=country,
            ship_option=option,
            total=total,
            currency="EUR" if country in ("DE", "FR") else "USD",
        )

    def _drive(self, order, target, reason, rng, users, manager, centers):
        ops = users["ops"]

        def step(name, by=None, note="", **params):
            nonlocal order
            actor = by or (
                "review" if name == "accept" else "carrier" if name in MACHINE_STEPS else ops
            )
            order = order_transition(order=order, name=name, by=actor, note=note, params=params)

        if target == Status.DRAFT:
            return
        if target != Status.ACTION_REQUIRED or reason != Hold.PAYMENT_REFUSED:
            step("mark_paid", by="payments")
        if target == Status.IMPORT_REVIEW:
            return
        if target == Status.ACTION_REQUIRED:
            if reason == Hold.PAYMENT_REFUSED:
                step("refuse_payment", by="payments", reason="Card declined: insufficient funds")
            else:
                step("hold", by="review", reason=reason, detail=_demo_detail(order, reason))
            return
        if target == Status.CLEAN_SWEPT:
            step("hold", by="review", reason=Hold.PRODUCT_CONFIGURATION)
            step(Action.CLEAN_SWEEP, by=manager, note="ship option mapping fixed; will reimport")
            return
        if target == Status.FAILED:
            if order.flow == st.PRINT:
                step("accept", center=self._center_for(order, centers))
                step("start_upload" if not order.has_embroidery else "start_digitizing")
                if order.has_embroidery:
                    step("start_upload")
            step("fail", reason="Artwork rejected: image resolution below 150 dpi.")
            return
        if target == Status.CANCELLED:
            if rng.random() < 0.5:
                step("accept", center=self._center_for(order, centers))
            step("cancel", by=manager, note="customer changed their mind")
            return
        path = (
            STOCK_PATH
            if order.flow == st.STOCK
            else (EMBROIDERY_PATH if order.has_embroidery else PRINT_PATH)
        )
        carrier, service = rng.choice(CARRIERS)
        for name in path:
            if order.status == target:
                return
            if name == "accept":
                step(name, center=self._center_for(order, centers))
            elif name == "hand_over":
                tracking = f"{carrier[:2].upper()}{rng.randint(10**9, 10**10 - 1)}"
                step(name, carrier=carrier, service=service, tracking_number=tracking)
            else:
                step(name)
        for name in CARRIER_STEPS.get(target, []):
            step(name)

    @staticmethod
    def _center_for(order, centers):
        europe = {"DE", "FR", "GB"}
        return centers[1] if order.country in europe else centers[0]

    @staticmethod
    def _spread_times(order_id, now, rng, target):
        """Demo only: move the order's and its history's timestamps back in time, keeping
        their order. Touches time columns, never a status field."""
        recent = target in (
            Status.IMPORT_REVIEW,
            Status.ACTION_REQUIRED,
            Status.PROCESSING,
            Status.DRAFT,
        )
        age = datetime.timedelta(hours=rng.uniform(0.3, 48 if recent else 24 * 30))
        if target == Status.IMPORT_REVIEW and rng.random() < 0.5:
            age = datetime.timedelta(minutes=rng.uniform(1, 8))  # some fresh, some stuck
        created = now - age
        rows = list(StatusChange.objects.filter(order_id=order_id).order_by("id"))
        gap = age / (len(rows) + 1)
        for n, row in enumerate(rows):
            row.created_at = created + gap * n
        StatusChange.objects.bulk_update(rows, ["created_at"])
        last_status = [r for r in rows if r.field == "status"][-1].created_at
        order = Order.objects.select_related("center").get(pk=order_id)
        ship_by = order.center.ship_by_for(order.flow, created) if order.center_id else None
        Order.objects.filter(pk=order_id).update(
            created_at=created, status_changed_at=last_status, ship_by=ship_by
        )
        # The lines keep a copy of the order's creation time (OrderLine).
        OrderLine.objects.filter(order_id=order_id).update(order_created_at=created)


def _demo_detail(order, reason):
    """What review would have written for this hold (orders/hold_detail.py), so the demo's
    held orders show their specifics."""
    line = order.lines.first()
    sku = line.sku if line else "TEE-1"
    if reason == Hold.INSUFFICIENT_INVENTORY:
        return {
            "short": [
                {
                    "sku": sku,
                    "name": line.name if line else "",
                    "needed": (line.quantity if line else 1) + 2,
                    "available": {"NJ1": 1, "LEJ": 0},
                    "restock": None,
                }
            ]
        }
    if reason == Hold.INVALID_ADDRESS:
        return hold_detail.invalid_address(
            {"address2": "The building has several flats and the flat number is missing."},
            {},
        )
    if reason == Hold.PRODUCT_CONFIGURATION:
        return hold_detail.product_configuration(ship_option="Overnight Express")
    if reason == Hold.NOT_CONNECTED:
        return {"products": [{"sku": sku, "name": line.name if line else ""}]}
    if reason == Hold.PENDING_PERSONALIZATION:
        return {"skus": [sku]}
    if reason in hold_detail.STAFF_CHECKS:
        return hold_detail.staff_check(reason)
    return None
