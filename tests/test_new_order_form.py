"""The new-order form: sections with labels above, lines added and removed (htmx, or a
submit without JavaScript), product search by SKU or name with price and stock, prices on
the lines; viewers do not see the form."""

from decimal import Decimal

from orders.models import Order, Product
from tests.conftest import PASSWORD, US_ADDRESS


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def form_data(lines, **extra):
    data = {
        "number": "HAND-1",
        "customer_name": "Ava Smith",
        "customer_email": "ava@example.com",
        "ship_option": "Standard",
        **US_ADDRESS,
        "address2": "",
        "form-TOTAL_FORMS": str(len(lines)),
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "50",
        "submit_now": "1",
    }
    for i, (product, quantity) in enumerate(lines):
        data[f"form-{i}-product"] = str(product.pk) if product else ""
        data[f"form-{i}-quantity"] = str(quantity)
    data.update(extra)
    return data


def test_form_has_sections_one_empty_line_and_no_fixed_rows(client, manager, products):
    login(client, manager)
    html = client.get("/new-order/").content.decode()
    assert 'id="sec-order"' in html and 'id="sec-ship"' in html and 'id="sec-items"' in html
    assert html.count("data-line>") == 1
    assert 'name="form-TOTAL_FORMS" value="1"' in html


def test_add_line_fragment_is_numbered_and_updates_the_count(client, manager, products):
    login(client, manager)
    html = client.get(
        "/new-order/line/", {"form-TOTAL_FORMS": "3", "product": products["print"].pk}
    ).content.decode()
    assert 'name="form-3-product"' in html
    assert f'<option value="{products["print"].pk}" selected>' in html
    assert 'id="id_form-TOTAL_FORMS" hx-swap-oob="true"' in html and 'value="4"' in html


def test_add_line_without_javascript_posts_back_one_more_line(client, manager, products):
    login(client, manager)
    data = form_data([(products["stock"], 1)], add_line="1")
    del data["submit_now"]
    response = client.post("/new-order/", data)
    assert response.status_code == 200
    assert response.content.decode().count("data-line>") == 2
    assert not Order.objects.filter(number="HAND-1").exists()


def test_product_search_by_sku_or_name_shows_price_and_stock(client, manager, products):
    Product.objects.filter(pk=products["stock"].pk).update(price=Decimal("19.50"))
    login(client, manager)
    by_sku = client.get("/new-order/products/", {"q": "tee"}).content.decode()
    assert "TEE-1" in by_sku and "19.50" in by_sku and "200 in stock" in by_sku
    by_name = client.get("/new-order/products/", {"q": "post"}).content.decode()
    assert "POSTER-1" in by_name and "made to order" in by_name
    assert "No product matches" in client.get("/new-order/products/", {"q": "zzz"}).content.decode()


def test_search_never_shows_another_merchants_products(client, outsider, products):
    login(client, outsider)
    assert "TEE-1" not in client.get("/new-order/products/", {"q": "TEE"}).content.decode()
    line = client.get("/new-order/line/", {"product": products["stock"].pk}).content.decode()
    assert "TEE-1" not in line


def test_three_lines_with_prices_make_one_order(client, manager, products):
    Product.objects.filter(pk=products["stock"].pk).update(price=Decimal("20.00"))
    Product.objects.filter(pk=products["print"].pk).update(price=Decimal("12.50"))
    extra = Product.objects.create(
        merchant=products["stock"].merchant, sku="CAP-1", name="Cap", price=Decimal("8.00")
    )
    login(client, manager)
    # The middle line was removed in the browser (emptied): it is ignored.
    data = form_data([(products["stock"], 2), (None, ""), (extra, 1)])
    response = client.post("/new-order/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get(number="HAND-1")
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines.all()] == [
        ("TEE-1", 2, Decimal("20.00")),
        ("CAP-1", 1, Decimal("8.00")),
    ]


def test_country_by_name_on_the_new_order_form(client, manager, products):
    login(client, manager)
    data = form_data(
        [(products["stock"], 1)],
        country="Germany",
        region="",
        postal_code="10115",
        city="Berlin",
    )
    assert client.post("/new-order/", data).status_code == 302
    assert Order.objects.get(number="HAND-1").country == "DE"


def test_viewers_do_not_see_the_form_and_cannot_use_its_parts(client, viewer, products):
    login(client, viewer)
    html = client.get("/new-order/").content.decode()
    assert "only managers can create or submit orders" in html
    assert 'name="submit_now"' not in html
    assert ">New order</a>" not in client.get("/orders/").content.decode()
    assert client.get("/new-order/line/").status_code == 403
    assert client.get("/new-order/products/", {"q": "TEE"}).status_code == 403
    assert client.post("/new-order/", form_data([(products["stock"], 1)])).status_code == 403
    assert not Order.objects.filter(number="HAND-1").exists()
