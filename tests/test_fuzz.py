"""Fuzzing with hypothesis: random query strings on the order list and the CSV export, random
CSV uploads, random API and webhook bodies. Never a 500, never a partial write, a clear
message for bad input; CSV exports neutralise formula cells. The last section holds one
focused regression test per bug the fuzzing found.

Examples are drawn deterministically (derandomize) so CI is stable. `make test` and a plain
`pytest` draw 30 examples per property (the suite's time budget); `FUZZ_EXAMPLES=60` is the
depth the suite used before, and `FUZZ_EXAMPLES=2000 FUZZ_RANDOM=1 pytest tests/test_fuzz.py`
searches harder with fresh randomness. Every example runs in a savepoint that is rolled
back, so examples do not see each other's orders.
"""

import base64
import contextlib
import csv
import datetime
import io
import json
import os
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Count
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dashboard.filters import OrderFilter
from orders import statuses
from orders.importing import COLUMNS, REQUIRED_COLUMNS, TOTAL_LIMIT
from orders.models import (
    ColumnMapping,
    ImportBatch,
    ImportRow,
    Order,
    OrderLine,
    StatusChange,
    TrackingEvent,
)
from orders.text import FORMULA_START, safe_cell, unsafe_cell
from orders.tokens import token_create
from orders.tracking import signed_headers

from .conftest import CSV_LINE
from .dashboard_helpers import hold, login

FUZZ = hsettings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")),
    deadline=None,
    derandomize=not os.environ.get("FUZZ_RANDOM"),
    database=None,
    # The fixtures build the merchant and its reference data once per test; each example
    # rolls its own writes back (see `isolated`), so sharing them is safe.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextlib.contextmanager
def isolated():
    """Run one example in a savepoint and roll it back."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def counts():
    return {
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "history": StatusChange.objects.count(),
        "events": TrackingEvent.objects.count(),
        "batches": ImportBatch.objects.count(),
    }


def assert_whole_orders():
    """No half orders anywhere: every order has its lines and its first history row."""
    assert not Order.objects.annotate(n=Count("lines")).filter(n=0).exists()
    assert not Order.objects.annotate(n=Count("history")).filter(n=0).exists()


# --- shared value strategies -------------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
]
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "' OR 1=1 --",
    "'; DROP TABLE orders_order; --",
    "%",
    "_",
    "\\",
    "%00",
    "%ZZ",
    "../../etc/passwd",
    "a/b",
    "..",
    "<script>alert(1)</script>",
    "ｆｕｌｌｗｉｄｔｈ",
    "😀" * 3,
    "\u202e",
    "9" * 40,
    "-" + "9" * 30,
    "1e999999",
    "NaN",
    "Infinity",
    "0001-01-01",
    "9999-12-31",
    "99999-01-01",
    "2026-02-30",
    "2026-13-01",
    "x" * 5000,
    *FORMULAS,
]
LONG_EMAIL = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"  # valid, 313 characters
# What SQLite stores but PostgreSQL refuses: NUL characters and lone surrogates.
unstorable_text = st.tuples(
    st.text(max_size=5), st.sampled_from(["\x00", "\ud800", "\udfff"]), st.text(max_size=5)
).map("".join)
nasty_text = st.one_of(
    st.sampled_from([*NASTY, LONG_EMAIL]),
    unstorable_text,
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


# --- query strings on the list and the export --------------------------------------------------

FILTER_KEYS = [
    "q",
    "view",
    "group",
    "status",
    "hold_reason",
    "payment_status",
    "flow",
    "center",
    "created_after",
    "created_before",
    "sort",
    "page",
    "batch",
    "fixed",
    "option",
    "product",
    "form-TOTAL_FORMS",
]
VALID_VALUES = {
    "view": ["", "attention", "stuck", "late", "closing_soon"],
    "group": ["", *[g.value for g in statuses.GROUPS]],
    "status": ["", "import_review", "shipped", "clean_swept"],
    "hold_reason": ["", *[h.value for h in statuses.HOLD_REASONS]],
    "payment_status": ["", "paid", "pending"],
    "flow": ["", "stock", "print"],
    "center": ["", "NJ1", "LEJ"],
    "created_after": ["", "2026-01-01"],
    "created_before": ["", "2030-12-31"],
    "sort": ["-created", "number", "-changed"],
    "page": ["1", "2", "last"],
    "q": ["", "T-0", "ava", "TEE-1"],
}
raw_fragments = st.sampled_from(["%ZZ", "%", "%C3%28", "%FF%FE", "&&", "=&=", "%00", "a=%00"])
pairs = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(FILTER_KEYS), st.text(max_size=10)),
        nasty_text,
    ),
    max_size=6,
)


def _query(pair_list, raw):
    encoded = "&".join(
        f"{quote(k, safe='')}={quote(v, safe='', errors='replace')}" for k, v in pair_list
    )
    return "&".join(p for p in [encoded, *raw] if p)


@pytest.fixture
def listed(client, manager, make_order, drive, centers):
    make_order(number="T-01", customer_name=FORMULAS[0])
    drive(make_order(number="T-02"), "shipped")
    login(client, manager)
    return client


@FUZZ
@given(pair_list=pairs, raw=st.lists(raw_fragments, max_size=2))
def test_fuzz_order_list_and_export_query_strings(listed, pair_list, raw):
    query = _query(pair_list, raw)
    with isolated():
        before = counts()
        page = listed.get(f"/orders/?{query}")
        export = listed.get(f"/orders/export.csv?{query}")
        htmx = listed.get(f"/orders/?{query}", headers={"HX-Request": "true"})
        assert counts() == before
    assert page.status_code in (200, 302), page.status_code
    assert htmx.status_code == 200  # an htmx jump is a 200 with HX-Redirect
    if page.status_code == 302:
        # Only an exact order number jumps, and only to that order.
        assert page["Location"].startswith("/orders/T-0")
    bad_filter = b"could not be used and were ignored" in page.content
    if export.status_code == 302:
        # A bad filter is said on the list, never applied to an export.
        assert export["Location"].startswith("/orders/?")
        assert bad_filter
    else:
        assert export.status_code == 200
        body = b"".join(export.streaming_content).decode()
        assert body.startswith("order_number,")
        assert not bad_filter


def _cursor(data):
    """A page cursor as dashboard/paging.py writes one, holding any JSON we like."""
    raw = json.dumps(data).encode()  # ensure_ascii: NUL and surrogates travel as escapes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "sort, value",
    [
        ("number", "T-0\x00"),  # PostgreSQL refuses NUL in text
        ("number", "\ud800"),  # a lone surrogate cannot be encoded at all
        ("-created", {"t": "0001-01-01T00:00:00+01:00"}),  # before the first UTC moment
        ("created", {"t": "9999-12-31T23:59:59-01:00"}),  # after the last one
    ],
)
@pytest.mark.parametrize("position", [1, 10**30])
def test_an_edited_cursor_the_database_cannot_take_starts_at_page_one(
    listed, sort, value, position
):
    """Issue 12: these cursors answered 500 for any signed-in user."""
    first = listed.get("/orders/", {"sort": sort})
    for direction in ["n", "p"]:
        cursor = _cursor({"s": sort, "d": direction, "v": [value, 1], "p": position})
        response = listed.get("/orders/", {"sort": sort, "cursor": cursor})
        assert response.status_code == 200
        assert response.content.count(b'class="col-number"') == first.content.count(
            b'class="col-number"'
        )


@pytest.mark.parametrize("direction", ["n", "p"])
def test_a_cursor_time_with_an_offset_beyond_postgresqls_is_read_in_utc(listed, direction):
    def rows(when):
        cursor = _cursor({"s": "-created", "d": direction, "v": [{"t": when}, 1], "p": 1})
        response = listed.get("/orders/", {"cursor": cursor})
        assert response.status_code == 200
        return response.content.count(b'class="col-number"')

    assert rows("2024-01-01T00:00:00+23:59") == rows("2023-12-31T00:01:00+00:00")


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 10**40])
def test_a_cursor_with_an_id_beyond_any_column_starts_at_page_one(listed, number):
    when = {"t": "2024-01-01T00:00:00+00:00"}
    cursor = _cursor({"s": "-created", "d": "n", "v": [when, number], "p": 1})
    response = listed.get("/orders/", {"cursor": cursor})
    assert response.status_code == 200
    assert b"T-01" in response.content


@FUZZ
@given(
    sort=st.sampled_from(["created", "-created", "changed", "-number", "number"]),
    direction=st.sampled_from(["n", "p", "x"]),
    values=st.lists(
        st.one_of(
            st.text(max_size=12),
            st.integers(),
            st.fixed_dictionaries(
                {"t": st.one_of(st.text(max_size=30), st.datetimes(timezones=st.timezones()))}
            ).map(lambda d: {"t": d["t"] if isinstance(d["t"], str) else d["t"].isoformat()}),
            st.none(),
        ),
        max_size=3,
    ),
    position=st.one_of(st.integers(), st.text(max_size=3)),
)
def test_fuzz_edited_cursors_never_500(listed, sort, direction, values, position):
    cursor = _cursor({"s": sort, "d": direction, "v": values, "p": position})
    with isolated():
        response = listed.get("/orders/", {"sort": sort, "cursor": cursor})
    assert response.status_code == 200


@FUZZ
@given(
    choices=st.fixed_dictionaries(
        {k: st.sampled_from(v) for k, v in VALID_VALUES.items() if k != "q"}
    ),
    bad_key=st.sampled_from(["view", "group", "status", "payment_status", "flow", "center"]),
    bad_value=nasty_text,
)
def test_fuzz_a_bad_filter_value_is_a_form_error_not_an_exception(
    listed, choices, bad_key, bad_value
):
    """Valid filters alone show no error; one unknown choice value shows the error (200)."""
    # A URL cannot carry lone surrogates (JSON can: see the API and webhook tests).
    bad_value = bad_value.encode("utf-8", "replace").decode()
    good = {k: v for k, v in choices.items() if v}
    assert OrderFilter(good).is_valid()
    response = listed.get("/orders/", good)
    assert response.status_code == 200
    assert b"could not be used and were ignored" not in response.content
    if bad_value in VALID_VALUES[bad_key]:
        return
    with isolated():
        response = listed.get("/orders/", {**good, bad_key: bad_value})
        export = listed.get("/orders/export.csv", {**good, bad_key: bad_value})
    assert response.status_code == 200
    assert b"could not be used and were ignored" in response.content
    assert export.status_code == 302


# --- CSV uploads -----------------------------------------------------------------------------

GOOD = CSV_LINE
# Cell text that is fine to import (stored as text; the export neutralises formulas).
free_text = st.one_of(
    st.sampled_from(FORMULAS),
    st.text(
        st.characters(codec="utf-8", exclude_characters="\x00"),
        max_size=40,
    ),
)
# (column, value, the field the error must name) for values that must be refused.
BAD_CELLS = [
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "-1"}, "quantity"),
    ({"quantity": "1.5"}, "quantity"),
    ({"quantity": "lots"}, "quantity"),
    ({"quantity": "99999999999999999999"}, "quantity"),
    ({"quantity": ""}, "quantity"),
    ({"unit_price": "abc"}, "unit_price"),
    ({"unit_price": "-1"}, "unit_price"),
    ({"unit_price": "1.234"}, "unit_price"),
    ({"unit_price": "1e10"}, "unit_price"),
    ({"unit_price": "NaN"}, "unit_price"),
    ({"quantity": "10000", "unit_price": "9999999999.99"}, "total"),
    ({"customer_email": "not-an-email"}, "customer_email"),
    ({"customer_email": LONG_EMAIL}, "customer_email"),
    ({"country": "Germny"}, "country"),  # names and ISO codes ("USA", "Germany") are read
    ({"currency": "€€€"}, "currency"),
    ({"payment": "maybe"}, "payment"),
    ({"draft": "perhaps"}, "draft"),
    ({"needs_approval": "kinda"}, "needs_approval"),
    ({"customer_name": "N" * 201}, "customer_name"),
    ({"address1": "A" * 201}, "address1"),
    ({"sku": ""}, "sku"),
    ({"sku": "S" * 65}, "sku"),
    ({"item_name": "I" * 201}, "item_name"),
    ({"postal_code": "9" * 21}, "postal_code"),
    ({"order_number": "F/"}, "order_number"),
    ({"order_number": "N" * 65}, "order_number"),
]
ORDER_LEVEL = {"order_number", "customer_name", "address1", "country", "currency", "payment"}


@st.composite
def csv_orders(draw):
    """A list of orders, each (number, rows, bad field or None); a bad order has one cell
    that must be refused, a good one is importable (with formula-looking text and big
    fields in it)."""
    count = draw(st.integers(min_value=1, max_value=6))
    orders = []
    for n in range(count):
        number = f"F-{n}-{draw(st.sampled_from(['a', '#1', 'x y', '=1+1', '-5', 'ü']))}"
        lines = draw(st.integers(min_value=1, max_value=3))
        order_values = {
            **{k: v for k, v in GOOD.items() if k not in ("sku", "quantity", "unit_price")},
            "customer_name": draw(free_text).strip()[:200] or "Ava",
            "address2": draw(free_text)[:200],
        }
        rows = []
        for _ in range(lines):
            rows.append(
                {
                    **order_values,
                    "order_number": number,
                    "sku": draw(st.sampled_from(["TEE-1", "POSTER-1", "UNKNOWN-SKU", "=SUM(1)"])),
                    "quantity": str(draw(st.integers(min_value=1, max_value=5))),
                    "unit_price": draw(st.sampled_from(["", "0", "9.99", "1000000.00"])),
                    "personalization": draw(
                        st.one_of(free_text, st.just("P" * 20000), st.just(""))
                    ),
                }
            )
        bad = None
        if draw(st.booleans()):
            cells, bad = draw(st.sampled_from(BAD_CELLS))
            if "order_number" in cells:
                number = cells["order_number"] + str(n)
                cells = {"order_number": number}
            rows[draw(st.integers(0, len(rows) - 1))].update(cells)
            for column, value in cells.items():
                if column in ORDER_LEVEL:
                    # An order field must agree on every row of the order.
                    for row in rows:
                        row[column] = value
        seen = [{k: str(v).strip() for k, v in row.items()} for row in rows]
        if bad is None and any(row in seen[:i] for i, row in enumerate(seen)):
            bad = ""  # a row repeating another exactly refuses the order (no field)
        orders.append((number, rows, bad))
    return orders


def _csv_bytes(rows, columns, encoding):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


@pytest.fixture
def uploader(client, manager, products, centers, django_capture_on_commit_callbacks):
    login(client, manager)

    def upload(content, name="orders.csv"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/imports/", {"file": SimpleUploadedFile(name, content, content_type="text/csv")}
            )

    return upload


@FUZZ
@given(
    orders=csv_orders(),
    shuffle=st.randoms(use_true_random=False),
    bom=st.booleans(),
    newline=st.sampled_from(["\r\n", "\n"]),
)
def test_fuzz_csv_upload_imports_good_orders_whole_and_reports_bad_ones(
    uploader, orders, shuffle, bom, newline
):
    columns = list(COLUMNS)
    shuffle.shuffle(columns)
    rows = [row for _number, order_rows, _bad in orders for row in order_rows]
    content = _csv_bytes(rows, columns, "utf-8-sig" if bom else "utf-8")
    if newline == "\n":
        content = content.replace(b"\r\n", b"\n")
    with isolated():
        before = counts()
        response = uploader(content)
        assert response.status_code == 302, response.content[:500]
        batch = ImportBatch.objects.get()
        assert batch.state == "done", batch.message
        good = [(n, r) for n, r, bad in orders if bad is None]
        created = Order.objects.filter(number__in=[n for n, _ in good])
        assert {o.number: o.lines.count() for o in created} == {n: len(r) for n, r in good}
        for number, _rows, bad in orders:
            if bad is None:
                continue
            assert not Order.objects.filter(number=number).exists()
            errors = ImportRow.objects.filter(batch=batch, number=number, outcome="error")
            assert bad in {e.field for e in errors}, (number, bad, list(errors.values()))
            assert all(e.row >= 2 and e.message for e in errors)
        after = counts()
        assert after["orders"] - before["orders"] == len(good)
        assert after["lines"] - before["lines"] == sum(len(r) for _n, r in good)
        assert_whole_orders()


@FUZZ
@given(
    kind=st.sampled_from(
        [
            "random",
            "latin-1",
            "utf-16",
            "utf-16-le",
            "nul",
            "empty",
            "missing",
            "extra",
            "header only",
        ]
    ),
    junk=st.binary(max_size=300),
    name=free_text,
)
def test_fuzz_unusable_csv_files_are_refused_whole_with_a_message(uploader, kind, junk, name):
    rows = [{**GOOD, "order_number": "W-1", "customer_name": "Zoë Ünicode " + name}]
    if kind == "random":
        content = junk
    elif kind in ("latin-1", "utf-16", "utf-16-le"):
        content = _csv_bytes(rows, COLUMNS, kind) if kind != "latin-1" else None
        if content is None:
            text = _csv_bytes(rows, COLUMNS, "utf-8").decode()
            content = text.encode("latin-1", errors="replace")
    elif kind == "nul":
        content = _csv_bytes([{**rows[0], "address2": "\x00"}], COLUMNS, "utf-8")
    elif kind == "empty":
        content = b""
    elif kind == "missing":
        columns = [c for c in COLUMNS if c != REQUIRED_COLUMNS[len(junk) % 3]]
        content = _csv_bytes(rows, columns, "utf-8")
    elif kind == "extra":
        content = _csv_bytes([{**rows[0], "gift_wrap": "yes"}], [*COLUMNS, "gift_wrap"], "utf-8")
    else:
        content = _csv_bytes([], COLUMNS, "utf-8")
    with isolated():
        before = counts()
        response = uploader(content, name=f"{name[:40]}.csv")
        if response.status_code == 302 and kind == "extra":
            # Columns that are not the template's go to the mapping step: nothing imported.
            batch = ImportBatch.objects.get()
            assert response["Location"] == f"/imports/{batch.pk}/mapping/"
            assert batch.state == "mapping"
            assert counts() == {**before, "batches": before["batches"] + 1}
        elif response.status_code == 302:
            # Random bytes can happen to be a valid little CSV: then it is a normal batch, or
            # one waiting for its columns to be mapped.
            assert kind == "random"
            batch = ImportBatch.objects.get()
            assert batch.state in ("done", "mapping")
            assert_whole_orders()
        else:
            assert response.status_code == 400
            assert b'class="errorlist' in response.content
            assert counts() == before


# --- the JSON API ------------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.floats(allow_nan=True, allow_infinity=True),
        nasty_text,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# A field's value: mostly text (where storage limits bite), sometimes any JSON.
field_values = st.one_of(nasty_text, nasty_text, json_values)
ORDER_KEYS = [
    "number",
    "order_number",
    "draft",
    "customer_name",
    "customer_email",
    "ship_name",
    "address1",
    "city",
    "region",
    "postal_code",
    "country",
    "ship_option",
    "currency",
    "total",
    "payment",
    "needs_approval",
]
LINE_KEYS = ["sku", "quantity", "unit_price", "name", "personalization", "personalization_complete"]


@st.composite
def api_orders(draw):
    order = {
        "number": f"API-{draw(st.integers(0, 10**6))}",
        "customer_name": "Ava Smith",
        "country": "US",
        "lines": [{"sku": "TEE-1", "quantity": 1, "unit_price": "9.99"}],
    }
    for key in draw(st.lists(st.sampled_from(ORDER_KEYS), max_size=3)):
        order[key] = draw(field_values)
    lines = draw(st.one_of(st.just(order["lines"]), st.lists(json_values, max_size=3)))
    if isinstance(lines, list):
        lines = [
            {**line, **draw(st.dictionaries(st.sampled_from(LINE_KEYS), field_values, max_size=2))}
            if isinstance(line, dict)
            else line
            for line in lines
        ]
    order["lines"] = lines
    return order


# Valid JSON nested deeper than Python's json module can recurse.
deeply_nested = st.tuples(
    st.sampled_from(["[", '{"a":']), st.integers(min_value=500, max_value=100_000)
).map(lambda t: t[0] * t[1] + ("]" if t[0] == "[" else "}") * t[1])
api_bodies = st.one_of(
    api_orders().map(json.dumps),
    st.lists(api_orders(), min_size=1, max_size=4).map(json.dumps),
    json_values.map(json.dumps),
    st.binary(max_size=200),
    st.sampled_from(["", "{", "[]", "null", '{"lines": [}', "\ufeff{}"]),
    deeply_nested,
)


@pytest.fixture
def api_client(merchant, products):
    _token, raw = token_create(merchant=merchant, name="Fuzz")
    client = Client(enforce_csrf_checks=True)
    return client, {"Authorization": f"Bearer {raw}"}


@FUZZ
@given(body=api_bodies, method=st.sampled_from(["post", "post", "put", "get"]))
def test_fuzz_api_bodies_answer_4xx_with_a_message_and_write_nothing_on_rejection(
    api_client, body, method
):
    client, headers = api_client
    with isolated():
        before = counts()
        response = client.generic(
            method.upper(),
            "/api/v1/orders",
            data=body,
            content_type="application/json",
            headers=headers,
        )
        after = counts()
        assert response.status_code in (200, 201, 400, 405, 409, 413), response.content[:300]
        data = response.json()
        created = 0
        if response.status_code >= 400:
            assert isinstance(data.get("error"), str) and data["error"]
        if response.status_code == 201:
            created = 1
        elif response.status_code == 200:
            created = sum(r["outcome"] in ("created", "reimported") for r in data["results"])
            for result in data["results"]:
                if result["outcome"] == "error":
                    assert result["errors"] and result["error"]
        assert after["orders"] - before["orders"] == created
        assert_whole_orders()


# --- the carrier webhook -----------------------------------------------------------------------

EVENT_KEYS = ["event_id", "tracking_number", "code", "occurred_at", "description", "location"]
TRACKING = "1Z999AA10123456784"  # what the drive fixture hands over with


@st.composite
def events(draw, numbers=(TRACKING, TRACKING, "UNKNOWN1"), keys=EVENT_KEYS):
    event = {
        "event_id": f"evt-{draw(st.integers(0, 10**6))}",
        "tracking_number": draw(st.sampled_from(numbers)),
        "code": draw(st.sampled_from(["in_transit", "delivered", "exception", "label_created"])),
        "occurred_at": draw(
            st.one_of(
                st.builds(lambda: timezone.now().isoformat()),
                st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
                st.builds(
                    lambda when, minutes: when.replace(
                        tzinfo=datetime.timezone(datetime.timedelta(minutes=minutes))
                    ).isoformat(),
                    st.datetimes(max_value=datetime.datetime(2026, 1, 1)),  # not "future"
                    st.integers(min_value=-1439, max_value=1439),
                ),
                st.sampled_from(
                    [
                        "0001-01-01T00:00:00+23:59",
                        "9999-12-31T23:59:59-23:59",
                        "2026-02-30T10:00:00Z",
                        "2026-01-01T25:00:00Z",
                        "yesterday",
                    ]
                ),
            )
        ),
    }
    for key in draw(st.lists(st.sampled_from(keys), max_size=2)):
        event[key] = draw(field_values)
    return event


webhook_bodies = st.one_of(
    events().map(lambda e: json.dumps(e).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    deeply_nested.map(str.encode),
)


@pytest.fixture
def shipped(make_order, drive):
    return drive(make_order(), "shipped")


@FUZZ
@given(
    body=webhook_bodies,
    signing=st.sampled_from(["signed"] * 5 + ["unsigned", "wrong", "stale", "junk"]),
)
def test_fuzz_webhook_bodies_signed_and_unsigned(client, settings, shipped, body, signing):
    secret = settings.TRACKING_WEBHOOK_SECRET
    headers = {
        "signed": signed_headers(secret, body),
        "unsigned": {},
        "wrong": signed_headers("wrong-secret", body),
        "stale": signed_headers(secret, body, timestamp=timezone.now().timestamp() - 3600),
        "junk": {"X-Tracking-Timestamp": "9" * 5000, "X-Tracking-Signature": "sha256=zz"},
    }[signing]
    with isolated():
        before = counts()
        status_before = Order.objects.get(pk=shipped.pk).status
        response = client.post(
            "/webhooks/tracking/", data=body, content_type="application/json", headers=headers
        )
        after = counts()
        assert response.status_code in (200, 400, 401, 404, 409), response.content[:300]
        data = response.json()
        if signing != "signed":
            assert response.status_code == 401
        if response.status_code >= 400:
            assert isinstance(data.get("error"), str) and data["error"]
            assert after == before
            assert Order.objects.get(pk=shipped.pk).status == status_before
        else:
            assert after["events"] == before["events"] + 1


@FUZZ
@given(event=events(numbers=[TRACKING], keys=["event_id", "code", "description", "location"]))
def test_fuzz_signed_events_for_a_real_parcel_are_stored_or_refused_cleanly(
    client, settings, shipped, event
):
    """Signed and for a real parcel, so every event reaches the parser and the database."""
    body = json.dumps(event).encode()
    with isolated():
        before = counts()
        response = client.post(
            "/webhooks/tracking/",
            data=body,
            content_type="application/json",
            headers=signed_headers(settings.TRACKING_WEBHOOK_SECRET, body),
        )
        after = counts()
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        assert response.json()["error"]
        assert after == before
    else:
        assert after["events"] == before["events"] + 1
        assert after["history"] - before["history"] in (0, 1)


# --- store exports, the column mapping step and the tracking aggregators ------------------------

SHOPIFY_HEADER = [
    "Name",
    "Email",
    "Financial Status",
    "Fulfillment Status",
    "Currency",
    "Total",
    "Shipping Method",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem fulfillment status",
    "Shipping Name",
    "Shipping Address1",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province",
    "Shipping Country",
    "Cancelled at",
    "Refunded Amount",
    "Notes",
]


@st.composite
def shopify_rows(draw):
    rows = []
    for n in range(draw(st.integers(min_value=1, max_value=5))):
        name = draw(st.sampled_from([f"#{1000 + n}", f"{1000 + n}", "#", "", f"# {n}/x"]))
        for position in range(draw(st.integers(min_value=1, max_value=3))):
            row = {
                "Name": name,
                "Lineitem quantity": draw(st.sampled_from(["1", "2", "0", "x", ""])),
                "Lineitem name": draw(free_text)[:60],
                "Lineitem price": draw(st.sampled_from(["12.00", "", "-1", "1e99"])),
                "Lineitem sku": draw(st.sampled_from(["TEE-1", "POSTER-1", "", "=SUM(1)"])),
                "Lineitem requires shipping": draw(st.sampled_from(["true", "false", ""])),
                "Lineitem fulfillment status": draw(st.sampled_from(["pending", "fulfilled", ""])),
            }
            if position == 0:
                row.update(
                    {
                        "Email": draw(st.sampled_from(["a@example.com", "", "nope"])),
                        "Financial Status": draw(
                            st.sampled_from(
                                ["paid", "pending", "authorized", "partially_paid", "refunded"]
                                + ["partially_refunded", "voided", "", "expired", "PAID"]
                            )
                        ),
                        "Fulfillment Status": draw(st.sampled_from(["", "fulfilled", "partial"])),
                        "Currency": draw(st.sampled_from(["USD", "", "EURO"])),
                        "Total": draw(st.sampled_from(["24.00", "", "abc", "99999999999"])),
                        "Shipping Method": "Standard",
                        "Shipping Name": draw(free_text)[:50],
                        "Shipping Address1": "1 Market Street",
                        "Shipping City": "New York",
                        "Shipping Zip": draw(st.sampled_from(["'10001", "10001", "'", "''0"])),
                        "Shipping Province": "NY",
                        "Shipping Country": draw(st.sampled_from(["US", "", "USA"])),
                        "Cancelled at": draw(st.sampled_from(["", "2026-11-30 17:05:44 -0500"])),
                        "Refunded Amount": draw(st.sampled_from(["0.00", "3.50", "x", "-2"])),
                        "Notes": draw(free_text),
                    }
                )
            rows.append(row)
    return rows


@FUZZ
@given(rows=shopify_rows(), bom=st.booleans())
def test_fuzz_shopify_exports_import_whole_orders_or_report_why_not(uploader, rows, bom):
    content = _csv_bytes(rows, SHOPIFY_HEADER, "utf-8-sig" if bom else "utf-8")
    with isolated():
        response = uploader(content, name="orders_export.csv")
        assert response.status_code in (302, 400), response.content[:300]
        if response.status_code == 400:
            assert b'class="errorlist' in response.content
            assert not Order.objects.exists()
            return
        batch = ImportBatch.objects.get()
        assert (batch.kind, batch.state) == ("shopify", "done"), batch.message
        assert_whole_orders()
        # Every order of the file is accounted for: created, skipped with a reason, or errors.
        reported = set(batch.rows.values_list("number", flat=True))
        for order in Order.objects.all():
            assert order.number in reported
            assert not order.number.startswith("#")
        for row in batch.rows.exclude(outcome__in=["created", "reimported"]):
            assert row.message


# What a browser can put in a form (no lone surrogates: they cannot be encoded).
form_text = st.text(st.characters(codec="utf-8"), max_size=40)

header_names = st.lists(
    st.one_of(
        st.sampled_from(["Order ID", "SKU", "Qty", "Ship City", "Zip", "Email", "Total"]),
        st.text(st.characters(codec="utf-8", exclude_characters="\x00\r\n"), max_size=12),
    ),
    min_size=1,
    max_size=6,
)


@FUZZ
@given(
    headers=header_names,
    cells=st.lists(st.lists(free_text, max_size=6), min_size=1, max_size=4),
    choices=st.dictionaries(
        st.sampled_from(COLUMNS),
        st.one_of(st.sampled_from(["Order ID", "SKU", "Qty", "Zip", ""]), form_text),
        max_size=6,
    ),
    name=st.one_of(st.just("My store"), form_text),
    button=st.sampled_from(["confirm", "preview", "neither"]),
)
def test_fuzz_the_mapping_step_never_fails_and_imports_only_what_it_confirms(
    client, uploader, headers, cells, choices, name, button
):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(cells)
    with isolated():
        response = uploader(out.getvalue().encode(), name="other-platform.csv")
        if response.status_code != 302 or not response["Location"].endswith("/mapping/"):
            return  # refused as a file, or it happened to be our template's columns
        batch = ImportBatch.objects.get()
        page = client.get(response["Location"])
        assert page.status_code == 200
        data = {f"col_{field}": value for field, value in choices.items()}
        data["name"] = name
        if button != "neither":
            data[button] = "1"
        before = counts()
        response = client.post(f"/imports/{batch.pk}/mapping/", data)
        assert response.status_code in (200, 302, 400), response.content[:300]
        batch = ImportBatch.objects.get(pk=batch.pk)
        if response.status_code == 302:
            assert button == "confirm"
            assert batch.state in ("queued", "done", "failed") and batch.mapping is not None
            assert set(REQUIRED_COLUMNS) <= set(batch.mapping.columns)
            assert_whole_orders()
        else:
            assert batch.state == "mapping"
            assert counts() == before
            assert not ColumnMapping.objects.exists()


aggregator_bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    deeply_nested.map(str.encode),
    st.builds(
        lambda status, when, extra: json.dumps(
            {
                "result": {
                    "object": "Tracker",
                    "tracking_code": TRACKING,
                    "status": status,
                    "tracking_details": [{"status": status, "datetime": when, **extra}],
                    "est_delivery_date": when,
                },
                "msg": {
                    "tracking_number": TRACKING,
                    "tag": status,
                    "checkpoints": [{"tag": status, "checkpoint_time": when, **extra}],
                    "expected_delivery": when,
                },
            }
        ).encode(),
        st.sampled_from(["in_transit", "delivered", "InTransit", "Delivered", "odd", ""]),
        st.one_of(
            st.sampled_from(["2026-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "nope", ""]),
            nasty_text,
        ),
        st.dictionaries(
            st.sampled_from(["message", "tracking_location", "location", "subtag"]),
            field_values,
            max_size=2,
        ),
    ),
)


@FUZZ
@given(
    source=st.sampled_from(["easypost", "aftership"]),
    body=aggregator_bodies,
    signing=st.sampled_from(["signed"] * 4 + ["unsigned", "wrong", "other source", "junk"]),
)
def test_fuzz_aggregator_webhooks_answer_4xx_or_store_and_never_500(
    client, settings, shipped, source, body, signing
):
    from orders.carrier_sources import aftership, easypost

    module = {"easypost": easypost, "aftership": aftership}[source]
    other = aftership if module is easypost else easypost
    secret = getattr(settings, f"{source.upper()}_WEBHOOK_SECRET")
    headers = {
        "signed": {module.SIGNATURE_HEADER: module.sign(secret, body)},
        "unsigned": {},
        "wrong": {module.SIGNATURE_HEADER: module.sign("wrong-secret", body)},
        "other source": {other.SIGNATURE_HEADER: other.sign(secret, body)},
        "junk": {module.SIGNATURE_HEADER: "\u00e9" * 3000},
    }[signing]
    with isolated():
        before = counts()
        status_before = Order.objects.get(pk=shipped.pk).status
        response = client.post(
            f"/webhooks/{source}/", data=body, content_type="application/json", headers=headers
        )
        after = counts()
        assert response.status_code in (200, 400, 401, 404), response.content[:300]
        if signing != "signed":
            assert response.status_code == 401
        if response.status_code >= 400:
            assert response.json()["error"]
            assert after == before
            assert Order.objects.get(pk=shipped.pk).status == status_before


# --- CSV export neutralises formulas ---------------------------------------------------------

formula_text = st.tuples(
    st.sampled_from(["=", "+", "-", "@", "\t", "\r"]),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20),
).map("".join)


@FUZZ
@given(name=formula_text, email_local=formula_text, number=formula_text)
def test_fuzz_export_neutralises_every_formula_cell(
    client, manager, make_order, name, email_local, number
):
    number = number.replace("/", "").strip() or "=0"
    if number[0] not in "=+-@":
        number = "=" + number
    login(client, manager)
    with isolated():
        make_order(number=number[:64], customer_name=name, customer_email=email_local)
        response = client.get("/orders/export.csv")
        text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert len(rows) == 2 and header[0] == "order_number"
    assert row["customer_name"] == "'" + name
    assert row["customer_email"] == "'" + email_local
    assert row["order_number"] == "'" + number[:64]
    for value in row.values():
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


# --- regressions found by the fuzzing ----------------------------------------------------------
# Each of these was a 500 (or a 503 a carrier would retry for ever) on PostgreSQL.


def _api(api_client, body):
    client, headers = api_client
    return client.post(
        "/api/v1/orders", data=json.dumps(body), content_type="application/json", headers=headers
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("number", "A-\x00"), ("customer_name", "Ava\x00"), ("address1", "\ud800 Main St")],
)
def test_api_refuses_text_the_database_cannot_store(api_client, field, value):
    body = {
        "number": "R-1",
        field: value,
        "lines": [{"sku": "TEE-1", "quantity": 1, "unit_price": "9.99"}],
    }
    response = _api(api_client, body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Order.objects.exists()


def test_api_refuses_nul_in_a_line(api_client):
    body = {"number": "R-2", "lines": [{"sku": "TEE-1", "quantity": 1, "personalization": "\x00"}]}
    response = _api(api_client, body)
    assert response.status_code == 400
    assert "lines[0].personalization" in response.json()["errors"]
    assert not Order.objects.exists()


def test_api_refuses_an_email_longer_than_the_column(api_client):
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"  # valid syntax, 313 characters
    lines = [{"sku": "TEE-1", "quantity": 1, "unit_price": "9.99"}]
    response = _api(api_client, {"number": "R-3", "customer_email": email, "lines": lines})
    assert response.status_code == 400
    assert response.json()["errors"]["customer_email"] == ["At most 254 characters."]


@pytest.mark.parametrize("number", ["A/1", "..", "."])
def test_order_numbers_that_cannot_be_in_a_url_are_refused(api_client, number):
    """'A/1' used to be created and then broke the order list for good (no URL for it)."""
    response = _api(
        api_client,
        {"number": number, "lines": [{"sku": "TEE-1", "quantity": 1, "unit_price": "9.99"}]},
    )
    assert response.status_code == 400
    assert "cannot contain '/'" in response.json()["errors"]["number"][0]
    assert not Order.objects.exists()


def test_lines_adding_up_beyond_the_total_column_are_refused(api_client):
    lines = [{"sku": "TEE-1", "quantity": 10000, "unit_price": "9999999999.99"}]
    response = _api(api_client, {"number": "R-4", "lines": lines})
    assert response.status_code == 400
    assert "total" in response.json()["errors"]
    assert not Order.objects.exists()


def test_csv_with_nul_characters_is_refused_as_a_file(uploader):
    response = uploader(b"order_number,sku,quantity\nX\x001,TEE-1,1\n")
    assert response.status_code == 400
    assert b"contains NUL characters" in response.content
    assert not ImportBatch.objects.exists()


def test_utf16_without_a_byte_order_mark_is_refused_as_a_file(uploader):
    response = uploader("order_number,sku,quantity\n1,TEE-1,1\n".encode("utf-16-le"))
    assert response.status_code == 400
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize("field", ["tracking_number", "event_id", "code", "location"])
@pytest.mark.parametrize("bad", ["1Z\x00", "\ud800"])
def test_webhook_refuses_text_the_database_cannot_store(client, settings, shipped, field, bad):
    event = {
        "event_id": "evt-1",
        "tracking_number": TRACKING,
        "code": "in_transit",
        "occurred_at": timezone.now().isoformat(),
        field: bad,
    }
    body = json.dumps(event).encode()
    response = client.post(
        "/webhooks/tracking/",
        data=body,
        content_type="application/json",
        headers=signed_headers(settings.TRACKING_WEBHOOK_SECRET, body),
    )
    assert response.status_code == 400
    assert field in response.json()["error"]
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize(
    ("occurred_at", "status"),
    [
        ("0001-01-01T00:00:00+23:59", 400),  # before the first representable moment in UTC
        ("0001-01-01T00:00:00-23:59", 200),  # an offset PostgreSQL cannot store as given
        ("2026-01-01T10:00:00+15:30", 200),
    ],
)
def test_webhook_event_times_with_odd_offsets(client, settings, shipped, occurred_at, status):
    """These were a 503 'retry later' on PostgreSQL, which a carrier retries for ever."""
    body = json.dumps(
        {
            "event_id": "evt-tz",
            "tracking_number": TRACKING,
            "code": "in_transit",
            "occurred_at": occurred_at,
        }
    ).encode()
    response = client.post(
        "/webhooks/tracking/",
        data=body,
        content_type="application/json",
        headers=signed_headers(settings.TRACKING_WEBHOOK_SECRET, body),
    )
    assert response.status_code == status, response.content
    assert TrackingEvent.objects.count() == (status == 200)
    if status == 400:
        assert response.json()["error"] == "occurred_at is out of range."


def test_a_nul_in_the_cancel_note_does_not_break_the_cancel(client, manager, make_order):
    order = make_order(number="N-1")
    login(client, manager)
    response = client.post("/orders/N-1/cancel/", {"note": "oops\x00"})
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert StatusChange.objects.filter(order=order, transition="cancel").get().reason == "oops"


def test_total_limit_matches_the_column():
    field = Order._meta.get_field("total")
    assert Decimal(10) ** (field.max_digits - field.decimal_places) == TOTAL_LIMIT


def test_staff_hand_over_csv_neutralises_merchant_formulas_and_reads_them_back(
    client, staff, make_order, drive
):
    """Order numbers come from merchants; the admin's hand-over download went to staff's
    spreadsheet as written. It now quotes formula cells and reads them back on upload."""
    order = drive(make_order(number='=HYPERLINK("http://x","y")'), "labeled")
    client.force_login(staff)
    url = "/admin/orders/order/"
    download = client.post(
        url, {"action": "bulk_hand_over", "_selected_action": [order.pk], "download_csv": "1"}
    )
    rows = list(csv.reader(io.StringIO(download.content.decode(), newline="")))
    assert rows[1][0] == '\'=HYPERLINK("http://x","y")'
    rows[1][1] = "-TRACK-1"  # what staff type may look like a formula too
    out = io.StringIO()
    csv.writer(out).writerows([rows[0], [rows[1][0], "'-TRACK-1", *rows[1][2:]]])
    response = client.post(
        url,
        {
            "action": "bulk_hand_over",
            "_selected_action": [order.pk],
            "apply": "1",
            "tracking_csv": SimpleUploadedFile("h.csv", out.getvalue().encode(), "text/csv"),
        },
    )
    assert response.status_code == 302
    shipped = Order.objects.get(pk=order.pk)
    assert (shipped.status, shipped.tracking_number) == ("shipped", "-TRACK-1")


@FUZZ
@given(value=st.one_of(formula_text, st.text(max_size=20)))
def test_fuzz_safe_cell_never_starts_a_formula_and_round_trips(value):
    cell = safe_cell(value)
    assert not cell.startswith(FORMULA_START)
    if not value.startswith("'"):
        # (A value that itself starts with ' before a formula sign reads back without it: an
        # order number like that is then "not among the selected orders", never another.)
        assert unsafe_cell(cell) == value


# --- every dashboard form, as its own manager ---------------------------------------------------

FORM_KEYS = [
    "number",
    "customer_name",
    "customer_email",
    "customer_phone",
    "ship_name",
    "address1",
    "address2",
    "city",
    "region",
    "postal_code",
    "country",
    "ship_option",
    "note",
    "action",
    "scope",
    "selected",
    "confirmed",
    "expected_status",
    "merchant",
    "next",
    "save_draft",
    "form-TOTAL_FORMS",
    "form-INITIAL_FORMS",
    "form-0-product",
    "form-0-quantity",
    # the list's columns, saved views and notes (dashboard/workspace.py)
    "columns",
    "name",
    "back",
    "shared",
    "do",
    "text",
    "add_line",
    "store_option",
    "carrier",
    "service",
    "kind",
    "key",
    "connected",
    # webhook endpoints, e-mail choices and the inbox (issue 13)
    "url",
    "description",
    "event_types",
    "event",
    "all",
    "order.held",
]


@pytest.fixture
def own_forms(client, manager, make_order, staff, drive):
    from . import tenancy

    make_order(number="OWN-1")
    make_order(number="OWN-2", draft=True)
    drive(make_order(number="OWN-3"), "labeled")
    hold(make_order(number="OWN-4"), staff, "pending_personalization")
    login(client, manager)
    urls = []
    for route in tenancy.routes()[0]:
        if route.kind == "session":
            numbers = ["OWN-1", "OWN-2", "OWN-3", "OWN-4"]
            arguments = tenancy.url_arguments(route)
            if not arguments:
                urls.append(route.pattern.pattern.describe().split("'")[1].lstrip("^"))
            elif list(arguments) == ["number"]:
                urls.extend(route.route.replace("<number:number>", n) for n in numbers)
    return client, ["/" + u for u in urls]


@FUZZ
@given(
    data=st.dictionaries(
        st.sampled_from(FORM_KEYS), st.one_of(nasty_text, st.lists(nasty_text, max_size=3))
    ),
    pick=st.integers(min_value=0),
)
def test_fuzz_every_dashboard_form_takes_any_post_without_a_500(own_forms, data, pick):
    client, urls = own_forms
    url = urls[pick % len(urls)]
    # A form post cannot carry lone surrogates (the browser encodes text as UTF-8).
    clean = {
        k: [s.encode("utf-8", "replace").decode() for s in v]
        if isinstance(v, list)
        else v.encode("utf-8", "replace").decode()
        for k, v in data.items()
    }
    with isolated():
        response = client.post(url, clean)
        assert response.status_code < 500, (url, response.status_code)
        assert_whole_orders()


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("a b", "/new-order/"),  # was reversed as a view name: NoReverseMatch, a 500
        ("order_list", "/new-order/"),  # a view name is not a place to go back to either
        ("https://evil.example/", "/new-order/"),
        ("/orders/?group=processing", "/orders/?group=processing"),
    ],
)
def test_submitting_a_draft_goes_back_only_to_a_path_of_this_site(
    client, manager, make_order, next_url, lands_on
):
    make_order(number="D-1", draft=True)
    login(client, manager)
    response = client.post("/drafts/D-1/submit/", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == lands_on
    assert Order.objects.get(number="D-1").status == "import_review"


@FUZZ
@given(
    pair_list=pairs,
    raw=st.lists(raw_fragments, max_size=2),
    htmx=st.booleans(),
    pick=st.integers(0),
)
def test_fuzz_every_dashboard_page_takes_any_query_string_without_a_500(
    own_forms, pair_list, raw, htmx, pick
):
    client, urls = own_forms
    extra = [("seen", "\x00"), ("part", "progress"), ("outcome", "error")]
    url = urls[pick % len(urls)]
    query = _query(pair_list + extra[: pick % 4], raw)
    headers = {"HX-Request": "true"} if htmx else {}
    with isolated():
        before = counts()
        response = client.get(f"{url}?{query}", headers=headers)
        assert response.status_code < 500, (url, response.status_code)
        assert counts() == before  # a GET changes nothing


@FUZZ
@given(
    cells=st.lists(
        st.lists(st.one_of(nasty_text, st.sampled_from(["TEE-1", "1", "F-1", "US"])), max_size=8),
        min_size=1,
        max_size=8,
    ),
    columns=st.lists(st.sampled_from(COLUMNS), min_size=3, max_size=8, unique=True),
    separator=st.sampled_from([",", ";", "\t"]),
)
def test_fuzz_csv_rows_of_any_text_never_half_import(uploader, cells, columns, separator):
    columns = [*REQUIRED_COLUMNS, *[c for c in columns if c not in REQUIRED_COLUMNS]]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator)
    writer.writerow(columns)
    for row in cells:
        writer.writerow([c.encode("utf-8", "replace").decode().replace("\x00", "") for c in row])
    with isolated():
        before = counts()
        response = uploader(out.getvalue().encode())
        if response.status_code == 302 and response["Location"].endswith("/mapping/"):
            # Not read as the template's columns: it waits for a mapping, nothing imported.
            assert ImportBatch.objects.get().state == "mapping"
            assert counts() == {**before, "batches": before["batches"] + 1}
        elif response.status_code == 302:
            batch = ImportBatch.objects.get()
            assert batch.state == "done", batch.message
            created = batch.created + batch.reimported
            assert counts()["orders"] - before["orders"] == created
            for error in ImportRow.objects.filter(batch=batch, outcome="error"):
                assert error.message and error.row >= 2
                # A row repeating another names no column: it is the whole row.
                assert error.field in [*COLUMNS, "total"] or "exactly" in error.message
            assert_whole_orders()
        else:
            assert response.status_code == 400
            assert b'class="errorlist' in response.content
            assert counts() == before


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_json_nested_too_deep_is_a_400_not_a_500(api_client, client, settings, opening):
    """json.loads raises RecursionError (not ValueError) for arrays nested 100,000 deep."""
    closing = "]" if opening == "[" else "}"
    body = (opening * 100_000 + closing * 100_000).encode()
    api, headers = api_client
    response = api.post(
        "/api/v1/orders", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 400
    assert response.json()["error"] == "The body is not valid JSON."
    response = client.post(
        "/webhooks/tracking/",
        data=body,
        content_type="application/json",
        headers=signed_headers(settings.TRACKING_WEBHOOK_SECRET, body),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Body is not valid JSON."


@pytest.mark.parametrize(
    "params",
    [
        {"carrier": "C" * 41, "tracking_number": "1Z1"},
        {"carrier": "UPS", "tracking_number": "1" * 65},
        {"carrier": "UPS", "tracking_number": "1Z1", "service": "S" * 61},
        {"carrier": "UPS", "tracking_number": "1Z\x001"},
    ],
)
def test_hand_over_refuses_values_its_columns_cannot_hold(make_order, drive, staff, params):
    """The service took any length from its callers; PostgreSQL then raised a DataError."""
    from orders.services import ActionRefused, order_transition

    order = drive(make_order(), "labeled")
    with pytest.raises(ActionRefused, match="at most"):
        order_transition(order=order, name="hand_over", by=staff, params=params)
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.tracking_number) == ("labeled", "")
    assert not StatusChange.objects.filter(order=order, transition="hand_over").exists()


# --- the admin, as staff -------------------------------------------------------------------------

ADMIN_FILTER_KEYS = [
    "status__exact",
    "flow__exact",
    "payment_status__exact",
    "hold_reason__exact",
    "merchant__id__exact",
    "center__id__exact",
    "queue",
    "q",
    "o",
    "p",
    "all",
]
admin_pairs = st.lists(
    st.tuples(st.one_of(st.sampled_from(ADMIN_FILTER_KEYS), st.text(max_size=10)), nasty_text),
    max_size=5,
)


def _form_text(value):
    """What a browser can post: text as UTF-8 (no lone surrogates)."""
    return value.encode("utf-8", "replace").decode()


@pytest.fixture
def staff_pages(client, staff, make_order, drive):
    """A staff client and the real change forms of an order in review and a labelled one."""
    from .admin_pages import form_of

    client.force_login(staff)
    pages = []
    for order in (make_order(number="ADM-1"), drive(make_order(number="ADM-2"), "labeled")):
        url = f"/admin/orders/order/{order.pk}/change/"
        pages.append((url, form_of(client.get(url), "order_form")))
    return client, pages


@FUZZ
@given(pair_list=admin_pairs, raw=st.lists(raw_fragments, max_size=2))
def test_fuzz_admin_order_list_query_strings(staff_pages, pair_list, raw):
    client, _pages = staff_pages
    with isolated():
        response = client.get(f"/admin/orders/order/?{_query(pair_list, raw)}", follow=True)
        assert response.status_code < 500


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                "number",
                "customer_email",
                "customer_phone",
                "address1",
                "country",
                "carrier",
                "tracking_number",
                "ship_by_0",
                "ship_by_1",
                "total",
                "currency",
                "shown",
                "lines-TOTAL_FORMS",
                "lines-0-quantity",
                "lines-0-unit_price",
                "lines-0-product",
                "lines-0-id",
                "lines-1-sku",
                "_fsm_transition_to",
            ]
        ),
        st.one_of(
            nasty_text,
            st.sampled_from(["hold", "start_pick", "hand_over", "bogus", "ADM-2", "1", "-1"]),
        ),
        max_size=5,
    ),
    pick=st.integers(0, 1),
)
@pytest.mark.slow
def test_fuzz_admin_order_change_form_takes_any_post_without_a_500(staff_pages, changes, pick):
    client, pages = staff_pages
    url, page = pages[pick]
    data = {**page, **{k: _form_text(v) for k, v in changes.items()}}
    with isolated():
        before = Order.objects.count()
        response = client.post(url, data)
        assert response.status_code < 500, (changes, response.status_code)
        assert_whole_orders()
        numbers = list(Order.objects.values_list("number", flat=True).order_by("number"))
        assert len(set(numbers)) == len(numbers) == before  # never two live "ADM-2"


@FUZZ
@given(
    values=st.dictionaries(
        st.sampled_from(["received", "counted", "shown_on_hand", "on_hand", "center"]),
        st.one_of(nasty_text, st.integers(-(10**12), 10**12).map(str)),
        max_size=4,
    )
)
def test_fuzz_admin_stock_form_never_500_nor_below_reserved(
    client, staff, make_order, drive, centers, products, values
):
    from orders.models import InventoryLevel

    client.force_login(staff)
    level = InventoryLevel.objects.get(center=centers[0], product=products["stock"])
    with isolated():
        drive(make_order(quantity=7), "processing")
        response = client.post(
            f"/admin/orders/inventorylevel/{level.pk}/change/",
            {k: _form_text(v) for k, v in values.items()},
        )
        assert response.status_code < 500, (values, response.status_code)
        level = InventoryLevel.objects.get(pk=level.pk)
        assert 0 <= level.reserved <= level.on_hand
