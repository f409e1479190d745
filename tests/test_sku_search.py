"""A SKU search reads the order lines' own index (merchant, SKU, listed, order creation time):
the orders it lists, pages and counts must be exactly those a plain look at the orders gives,
in every view, sort and direction, with duplicate lines, ties in time and clean sweeps."""

import datetime
import re

import pytest
from django.utils import timezone

from dashboard.views import listing
from orders.models import Order, OrderLine, Product
from orders.services import order_create, order_transition

from .dashboard_helpers import hold, login
from .test_order_list import page_link

SKU = "TEE-1"
NUMBER = re.compile(r'class="col-number"><a href="[^"]+">([^<]+)</a>')
TOTAL = re.compile(r"of ([\d,]+)(\+?)")


@pytest.fixture
def shop(merchant, other_merchant, manager, staff, products, drive):
    """38 orders of `merchant`: most with the SKU (some with two lines of it, some created at
    the same moment), some without it, some held, picked or clean swept; and orders of
    another merchant with the same SKU."""
    Product.objects.create(merchant=other_merchant, sku=SKU, name="Their tee", kind="stock")
    now = timezone.now()
    for i in range(38):
        if i % 9 == 4:
            lines = [{"sku": "POSTER-1", "quantity": 1}]
        elif i % 7 == 3:
            lines = [{"sku": SKU, "quantity": 1}, {"sku": "tee-1", "quantity": 2}]
        else:
            lines = [{"sku": SKU, "quantity": 1}, {"sku": "HOOD-1", "quantity": 1}][: 1 + i % 2]
        created = now - datetime.timedelta(hours=(i // 3) * 5)  # threes share a moment
        order = order_create(
            merchant=merchant, by="test", number=f"S-{i:03d}", lines=lines, created_at=created
        )
        if i % 6 == 1:
            hold(order, staff)
        elif i % 6 == 2 and i % 9 != 4:
            drive(order, "picked")
        elif i % 5 == 0:
            order_transition(order=order, name="clean_sweep", by=manager)
    for i in range(5):
        order_create(merchant=other_merchant, by="test", number=f"S-{i:03d}", lines=[{"sku": SKU}])


def expected(merchant, params):
    """The numbers a SKU search must list, from the orders and their lines in Python."""
    orders = [
        o
        for o in Order.objects.filter(merchant=merchant).prefetch_related("lines")
        if any(line.sku.lower() == SKU.lower() for line in o.lines.all())
    ]
    if params.get("group") == "clean_sweep":
        orders = [o for o in orders if o.status == "clean_swept"]
    else:
        orders = [o for o in orders if o.status != "clean_swept"]
    if params.get("group") == "action_required":
        orders = [o for o in orders if o.status == "action_required"]
    if params.get("group") == "processing":
        orders = [o for o in orders if o.group.value == "processing"]
    sort = params.get("sort", "-created")
    key = {
        "created": lambda o: (o.created_at, o.pk),
        "changed": lambda o: (o.status_changed_at, o.pk),
        "number": lambda o: (o.number, o.pk),
    }[sort.lstrip("-")]
    return [o.number for o in sorted(orders, key=key, reverse=sort.startswith("-"))]


def walk(client, params):
    """Every page from the first by the Next links, then back by the Previous links: the
    numbers in order, the totals the pages said, and the pages walked back."""
    response = client.get("/orders/", params)
    pages, totals = [NUMBER.findall(response.text)], [TOTAL.search(response.text)]
    while 'rel="next"' in response.text:
        response = client.get(page_link(response, "next"))
        pages.append(NUMBER.findall(response.text))
        totals.append(TOTAL.search(response.text))
    back = [pages[-1]]
    while 'rel="prev"' in response.text:
        response = client.get(page_link(response, "prev"))
        back.append(NUMBER.findall(response.text))
    return pages, totals, back[::-1]


VIEWS = [
    {},
    {"sort": "created"},
    {"group": "processing"},
    {"group": "action_required"},
    {"group": "clean_sweep"},
    {"sort": "number"},
    {"sort": "-changed", "group": "processing"},
]


@pytest.mark.parametrize("limit", [9, 1000])
def test_a_sku_search_lists_pages_and_counts_what_the_orders_say(
    client, manager, merchant, shop, monkeypatch, limit
):
    # One shop for every view and page size (the searches only read), so it is built once.
    # Below the count's bound the totals are exact: without other filters the SKU's tier is
    # counted from its lines (Keys.alone), with them order by order.
    monkeypatch.setattr(listing, "COUNT_LIMIT", limit)
    login(client, manager)
    wrong = []
    for params in VIEWS:
        want = expected(merchant, params)
        assert want, f"the fixture must give every view some orders: {params}"
        for page in [4, 50]:
            monkeypatch.setattr(listing, "PAGE_SIZE", page)
            pages, totals, back = walk(client, {"q": "tee-1", **params})
            shown = totals[0]
            if len(want) <= page:
                said = (str(len(want)), "")
            elif len(want) > limit:
                said = (str(limit), "+")
            else:
                said = (str(len(want)), "")
            case = (page, params)
            if [n for p in pages for n in p] != want:
                wrong.append((case, "listed", [n for p in pages for n in p], want))
            if back != pages:
                wrong.append((case, "walked back", back, pages))
            if (shown.group(1), shown.group(2)) != said:
                wrong.append((case, "total", shown.groups(), said))
    assert wrong == []


@pytest.mark.parametrize("page", [3, 50])
def test_a_sku_count_leaves_out_orders_of_a_better_tier(
    client, manager, merchant, products, monkeypatch, page
):
    """An order whose customer name starts with the SKU ranks above the SKU's tier: the
    count does not take it twice, nor the clean-swept orders the lines' index also holds."""
    for i in range(6):
        order_create(merchant=merchant, by="test", number=f"C-{i}", lines=[{"sku": SKU}])
    order_create(
        merchant=merchant,
        by="test",
        number="C-9",
        customer_name="Tee-1 Collector",
        lines=[{"sku": SKU}, {"sku": SKU}],
    )
    swept = order_create(merchant=merchant, by="test", number="C-8", lines=[{"sku": SKU}])
    order_transition(order=swept, name="clean_sweep", by=manager)
    monkeypatch.setattr(listing, "PAGE_SIZE", page)
    login(client, manager)
    response = client.get("/orders/", {"q": SKU.lower()})
    assert NUMBER.findall(response.text)[0] == "C-9"
    assert TOTAL.search(response.text).groups() == ("7", "")


def test_the_first_page_asks_again_when_few_candidates_pass_the_other_filters(
    client, manager, merchant, shop, monkeypatch
):
    """Held orders are a minority among the SKU's orders: small pages of them still list
    exactly the held ones, in order, with working cursors."""
    monkeypatch.setattr(listing, "PAGE_SIZE", 3)
    login(client, manager)
    params = {"q": SKU, "group": "action_required"}
    pages, _totals, _back = walk(client, params)
    assert [n for p in pages for n in p] == expected(merchant, params)


def test_lines_copy_their_order_and_follow_its_clean_sweep(merchant, manager, products):
    created = timezone.now() - datetime.timedelta(days=3)
    order = order_create(
        merchant=merchant, by="test", number="C-1", lines=[{"sku": SKU}], created_at=created
    )
    line = order.lines.get()
    assert (line.merchant_id, line.order_created_at, line.listed) == (merchant.pk, created, True)
    # A line added some other way (the admin's inline) takes the same copies on save.
    extra = OrderLine.objects.create(order=order, sku="POSTER-1")
    assert (extra.merchant_id, extra.order_created_at, extra.listed) == (
        merchant.pk,
        created,
        True,
    )
    order_transition(order=order, name="clean_sweep", by=manager)
    assert list(OrderLine.objects.filter(order=order).values_list("listed", flat=True)) == [
        False,
        False,
    ]


def test_another_merchants_lines_never_show(client, manager, merchant, other_merchant, shop):
    login(client, manager)
    response = client.get("/orders/", {"q": SKU})
    theirs = set(Order.objects.filter(merchant=other_merchant).values_list("pk", flat=True))
    mine = set(Order.objects.filter(merchant=merchant).values_list("number", flat=True))
    assert set(NUMBER.findall(response.text)) <= mine
    assert theirs  # the other merchant's S-000..S-004 share numbers: check by the rows' ids
    for pk in theirs:
        assert f'value="{pk}"' not in response.text
