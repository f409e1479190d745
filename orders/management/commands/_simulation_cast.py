"""The live demo's pace and cast (simulate_operations): how long each step waits on
average, the staff's and carriers' steps, the odd incident, and the customers and places
new orders come from."""

from orders.statuses import Hold, Status
from orders.tracking import (
    CODE_DELIVERED,
    CODE_IN_TRANSIT,
    CODE_OUT_FOR_DELIVERY,
    CODE_RETURNED,
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
