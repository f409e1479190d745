"""The review step: every outcome and hold reason, in the SPEC's order, the choice of facility,
stock reservation, and the race for the last unit."""

import threading

import pytest
from django.db import connection

from orders import review
from orders.models import InventoryLevel, Order, Product, StatusChange
from orders.review import review_order
from orders.services import order_create, order_submit, order_transition
from orders.tasks import reviews_deferred
from tests.conftest import US_ADDRESS

DE_ADDRESS = {
    "ship_name": "Lena Schmidt",
    "address1": "Unter den Linden 1",
    "city": "Berlin",
    "region": "",
    "postal_code": "10117",
    "country": "DE",
}


@pytest.fixture
def new_order(merchant, products):
    counter = {"n": 0}

    def make(lines=None, draft=False, **fields):
        counter["n"] += 1
        values = {**US_ADDRESS, "ship_option": "Standard", "customer_name": "Ava Smith"}
        values.update(fields)
        return order_create(
            merchant=merchant,
            by="test",
            number=f"R-{counter['n']}",
            lines=lines or [{"sku": "TEE-1", "quantity": 1}],
            draft=draft,
            **values,
        )

    return make


def reviewed(order):
    review_order(order.pk)
    return Order.objects.get(pk=order.pk)


def last_status_row(order):
    return StatusChange.objects.filter(order=order, field="status").last()


def level(product, center):
    return InventoryLevel.objects.get(product=product, center=center)


def assert_held(order, reason, note_part=""):
    assert order.status == "action_required"
    assert order.hold_reason == reason
    assert note_part in order.hold_note
    row = last_status_row(order)
    assert (row.transition, row.target, row.actor_name) == ("hold", "action_required", "review")


def test_good_order_is_accepted_at_the_home_country_facility(new_order, centers, products):
    order = reviewed(new_order(lines=[{"sku": "TEE-1", "quantity": 3}]))
    assert order.status == "processing"
    assert order.center == centers[0]
    assert (order.carrier, order.service) == ("USPS", "Ground Advantage")
    assert order.ship_by is not None
    assert order.stock_reserved is True
    assert level(products["stock"], centers[0]).reserved == 3
    assert level(products["stock"], centers[1]).reserved == 0
    row = last_status_row(order)
    assert (row.transition, row.source, row.target, row.actor_name) == (
        "accept",
        "import_review",
        "processing",
        "review",
    )


def test_german_customer_ships_from_leipzig(new_order, centers):
    order = reviewed(new_order(**DE_ADDRESS))
    assert (order.status, order.center) == ("processing", centers[1])


def test_other_country_facility_is_used_when_home_has_no_stock(new_order, centers, products):
    InventoryLevel.objects.filter(product=products["stock"], center=centers[0]).update(on_hand=0)
    order = reviewed(new_order())
    assert (order.status, order.center) == ("processing", centers[1])
    assert level(products["stock"], centers[1]).reserved == 1


def test_order_is_not_split_across_facilities(new_order, merchant, centers, products):
    mug = Product.objects.create(merchant=merchant, sku="MUG-1", name="Mug", kind="stock")
    InventoryLevel.objects.create(center=centers[1], product=mug, on_hand=5)
    InventoryLevel.objects.filter(product=products["stock"], center=centers[1]).update(on_hand=0)
    order = reviewed(new_order(lines=[{"sku": "TEE-1", "quantity": 1}, {"sku": "MUG-1"}]))
    assert_held(order, "insufficient_inventory")
    assert InventoryLevel.objects.filter(reserved__gt=0).count() == 0


def test_not_enough_stock_anywhere_holds_for_inventory(new_order, products):
    order = reviewed(new_order(lines=[{"sku": "TEE-1", "quantity": 101}]))
    assert_held(order, "insufficient_inventory")
    assert order.center is None
    assert not order.stock_reserved


def test_print_order_goes_to_a_print_facility_without_stock(new_order, centers):
    order = reviewed(new_order(lines=[{"sku": "POSTER-1", "quantity": 2}]))
    assert (order.status, order.flow, order.center) == ("processing", "print", centers[0])
    assert not order.stock_reserved
    assert order.ship_by is not None


def test_print_order_without_a_print_facility_needs_staff(new_order, centers):
    for center in centers:
        center.handles_print = False
        center.save()
    order = reviewed(new_order(lines=[{"sku": "POSTER-1"}]))
    assert_held(order, "special_requirements", "No facility")


def test_unknown_sku_holds_for_product_configuration(new_order):
    order = reviewed(new_order(lines=[{"sku": "NOPE-9"}]))
    assert_held(order, "product_configuration", "Unknown SKU: NOPE-9")


def test_unconnected_product_holds_not_connected(new_order, products):
    Product.objects.filter(pk=products["stock"].pk).update(connected=False)
    order = reviewed(new_order())
    assert_held(order, "not_connected", "TEE-1")


def test_mixed_flows_hold_for_product_configuration(new_order):
    order = reviewed(new_order(lines=[{"sku": "TEE-1"}, {"sku": "POSTER-1"}]))
    assert_held(order, "product_configuration", "mixes stock items and print")


def test_unmapped_ship_option_holds_for_product_configuration(new_order):
    order = reviewed(new_order(ship_option="Teleport"))
    assert_held(order, "product_configuration", "Teleport")


def test_missing_ship_option_holds_for_product_configuration(new_order):
    order = reviewed(new_order(ship_option=""))
    assert_held(order, "product_configuration", "no ship option")


def test_invalid_address_holds(new_order):
    order = reviewed(new_order(postal_code="ABCDE"))
    assert_held(order, "invalid_address", "ZIP")


def test_unfinished_personalization_holds(new_order):
    order = reviewed(
        new_order(
            lines=[{"sku": "TEE-1", "personalization": "A", "personalization_complete": False}]
        )
    )
    assert_held(order, "pending_personalization", "TEE-1")


def test_order_needing_approval_holds_until_approved(new_order, staff):
    order = reviewed(new_order(needs_approval=True))
    assert_held(order, "pending_approval")
    order = order_transition(order=order, name="approve", by=staff)
    order = reviewed(order)
    assert order.status == "processing"


def test_refused_payment_holds(new_order, manager):
    draft = new_order(draft=True)
    order_transition(order=draft, name="refuse_payment", by="payments")
    order = reviewed(order_submit(order=Order.objects.get(pk=draft.pk), by=manager))
    assert_held(order, "payment_refused")


def test_first_failing_check_wins(new_order, products):
    Product.objects.filter(pk=products["stock"].pk).update(connected=False)
    order = reviewed(new_order(lines=[{"sku": "TEE-1"}, {"sku": "GHOST"}], postal_code="x"))
    assert_held(order, "product_configuration", "GHOST")


def test_address_is_checked_before_stock(new_order):
    order = reviewed(new_order(lines=[{"sku": "TEE-1", "quantity": 500}], country="XX"))
    assert_held(order, "invalid_address", "ISO country")


def test_review_leaves_orders_outside_import_review_alone(new_order):
    draft = new_order(draft=True)
    assert reviewed(draft).status == "draft"
    assert StatusChange.objects.filter(order=draft).count() == 1


def test_reviewing_twice_changes_nothing_more(new_order, products, centers):
    order = new_order()
    review_order(order.pk)
    review_order(order.pk)
    assert level(products["stock"], centers[0]).reserved == 1
    assert StatusChange.objects.filter(order=order, transition="accept").count() == 1


def test_sku_added_after_import_is_picked_up_on_retry(new_order, merchant, manager, centers):
    order = reviewed(new_order(lines=[{"sku": "CAP-1"}]))
    assert_held(order, "product_configuration")
    cap = Product.objects.create(merchant=merchant, sku="CAP-1", name="Cap", kind="stock")
    InventoryLevel.objects.create(center=centers[0], product=cap, on_hand=1)
    order = reviewed(order_transition(order=order, name="retry", by=manager))
    assert order.status == "processing"
    assert order.lines.get().product == cap


def test_import_starts_review_through_the_task(
    new_order, django_capture_on_commit_callbacks, centers
):
    with django_capture_on_commit_callbacks(execute=True):
        order = new_order()
    assert Order.objects.get(pk=order.pk).status == "processing"


def test_retry_starts_review_through_the_task(
    new_order, manager, products, centers, django_capture_on_commit_callbacks
):
    InventoryLevel.objects.filter(product=products["stock"]).update(on_hand=0)
    order = reviewed(new_order())
    assert_held(order, "insufficient_inventory")
    InventoryLevel.objects.filter(product=products["stock"]).update(on_hand=5)
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(order=order, name="retry", by=manager)
    assert Order.objects.get(pk=order.pk).status == "processing"


# --- the race for the last unit ------------------------------------------------------------


def test_last_unit_lost_between_check_and_accept_holds_the_later_order(
    new_order, products, centers, monkeypatch
):
    """Order B sees one unit available; before B reserves it, A's review takes it. B's
    conditional reservation then fails and B is held, never over-reserving."""
    InventoryLevel.objects.filter(product=products["stock"], center=centers[0]).update(on_hand=1)
    InventoryLevel.objects.filter(product=products["stock"], center=centers[1]).update(on_hand=0)
    first, second = new_order(), new_order()
    real = review.candidate_centers

    def stale_then_lost(order, lines, cache):
        seen = real(order, lines, cache)
        if order.pk == second.pk:
            monkeypatch.setattr(review, "candidate_centers", real)
            review_order(first.pk)
        return seen

    monkeypatch.setattr(review, "candidate_centers", stale_then_lost)
    second = reviewed(second)
    first = Order.objects.get(pk=first.pk)
    assert first.status == "processing"
    assert_held(second, "insufficient_inventory")
    stock = level(products["stock"], centers[0])
    assert (stock.on_hand, stock.reserved) == (1, 1)


def test_facility_that_lost_its_stock_is_skipped_for_the_next(
    new_order, products, centers, monkeypatch
):
    InventoryLevel.objects.filter(product=products["stock"], center=centers[0]).update(on_hand=1)
    order = new_order()
    real = review.candidate_centers

    def lose_home_stock(order_, lines, cache):
        seen = real(order_, lines, cache)
        InventoryLevel.objects.filter(product=products["stock"], center=centers[0]).update(
            reserved=1
        )
        return seen

    monkeypatch.setattr(review, "candidate_centers", lose_home_stock)
    order = reviewed(order)
    assert (order.status, order.center) == ("processing", centers[1])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_reviews_for_the_last_unit(new_order, products, centers, monkeypatch):
    """Real concurrency: two threads, two connections, both see the last unit before either
    reserves it. Needs PostgreSQL (SQLite serialises writers, so there is no race to lose)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks; the sequential test above covers SQLite")
    InventoryLevel.objects.filter(product=products["stock"], center=centers[0]).update(on_hand=1)
    InventoryLevel.objects.filter(product=products["stock"], center=centers[1]).update(on_hand=0)
    # Deferred: created orders would otherwise be reviewed at once, one after the other,
    # and the threads below would find nothing left to review.
    with reviews_deferred():
        orders = [new_order(), new_order()]
    assert set(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)
    ) == {"import_review"}
    both_looked = threading.Barrier(2, timeout=10)
    real = review.candidate_centers

    def look_then_wait(order, lines, cache):
        seen = real(order, lines, cache)
        both_looked.wait()
        return seen

    monkeypatch.setattr(review, "candidate_centers", look_then_wait)
    errors = []

    def run(order_id):
        try:
            review_order(order_id)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(o.pk,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    statuses = sorted(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", "hold_reason")
    )
    assert statuses == [("action_required", "insufficient_inventory"), ("processing", "")]
    stock = level(products["stock"], centers[0])
    assert (stock.on_hand, stock.reserved) == (1, 1)
