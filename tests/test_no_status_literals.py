"""Status values live in one place: the catalog (orders/statuses.py) names every state, group,
hold reason and payment status, and the rest of the code (orders/, dashboard/ and templates/)
uses those names. Migrations keep the values they were written with, and tests/ are not
walked: they check the stored values as the SPEC spells them."""

import ast
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from orders import statuses as st


def test_the_catalog_names_every_value_of_its_tables_and_nothing_else():
    assert set(st.names_of(st.Status).values()) == set(st.STATE_BY_VALUE)
    assert set(st.names_of(st.StatusGroup).values()) == set(st.GROUP_BY_VALUE)
    assert set(st.names_of(st.Hold).values()) == set(st.HOLD_BY_VALUE)
    assert set(st.names_of(st.Payment).values()) == set(st.PAYMENT_LABELS)
    assert set(st.names_of(st.Action).values()) == set(st.MERCHANT_ACTION_BY_NAME)
    assert st.Status.ACTION_REQUIRED == "action_required"  # as the SPEC spells it
    assert st.Hold.PAYMENT_REFUSED == "payment_refused"


@pytest.mark.parametrize(
    "name, value",
    [("SHIPPPED", "shipped"), ("ON_THE_MOON", "on_the_moon")],
)
def test_a_name_that_disagrees_with_the_tables_stops_the_catalog_loading(monkeypatch, name, value):
    monkeypatch.setattr(st.Status, name, value, raising=False)
    with pytest.raises(ImproperlyConfigured, match="statuses.Status"):
        st._check_names()


# --- no stored value spelled outside the catalog ------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
CATALOG = "orders/statuses.py"
# What may not be spelled elsewhere: every state, group, hold reason and payment status.
VALUES = {
    *st.names_of(st.Status).values(),
    *st.names_of(st.StatusGroup).values(),
    *st.names_of(st.Hold).values(),
    *st.names_of(st.Payment).values(),
}
# Things that are not order statuses but are spelled like one, each named once where it
# belongs: (file, the constant it is assigned to) -> why it is not a status.
EXEMPT = {
    ("orders/audit.py", "REFUSED"): "an audit entry's outcome (done or refused)",
    ("orders/models/intake.py", "BATCH_FAILED"): "an import batch's state",
    ("orders/models/intake.py", "ROW_REFUSED"): "an import row's outcome, and the batch's count",
    ("orders/webhooks/models.py", "PENDING"): "a webhook delivery's state",
    ("orders/webhooks/models.py", "DELIVERED"): "a webhook delivery's state",
    ("orders/webhooks/models.py", "GAVE_UP"): "a webhook delivery's state",
    ("orders/services.py", "DRAFT_FLAG"): "an imported order's yes/no draft flag (CSV column)",
    ("orders/tracking.py", "CODE_IN_TRANSIT"): "a carrier event code, as carriers send it",
    ("orders/tracking.py", "CODE_OUT_FOR_DELIVERY"): "a carrier event code, as carriers send it",
    ("orders/tracking.py", "CODE_DELIVERED"): "a carrier event code, as carriers send it",
    ("orders/tracking.py", "CODE_DELIVERY_EXCEPTION"): "a carrier event code, as carriers send it",
    ("orders/tracking.py", "CODE_RETURNED"): "a carrier event code, as carriers send it",
    ("orders/carrier_sources/easypost.py", "STATUSES"): "EasyPost's own status words",
    ("orders/formats/shopify.py", "FINANCIAL_STATUS"): "Shopify's financial status words",
    ("orders/formats/shopify.py", "NOT_IMPORTED"): "Shopify's financial status words",
    ("orders/formats/mapped.py", "SYNONYMS"): "column headers other platforms use ('Paid')",
    ("orders/events.py", "SAID"): "the sentence an event says: 'Order 1001 failed'",
    ("orders/deadlines.py", "PRINTED_WORD"): "the word the order page shows, 'until printed'",
}
TEMPLATE_TAG = re.compile(r"{%.*?%}|{{.*?}}", re.DOTALL)
QUOTED = re.compile(r"\"([^\"]*)\"|'([^']*)'")


def _assigned_to(tree):
    """{id(node): name of the module- or class-level constant whose value holds it}."""
    owner = {}

    def visit(body):
        for statement in body:
            if isinstance(statement, ast.ClassDef):
                visit(statement.body)
            elif isinstance(statement, ast.Assign | ast.AnnAssign):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if names and statement.value is not None:
                    for node in ast.walk(statement.value):
                        owner[id(node)] = names[0]

    visit(tree.body)
    return owner


def python_literals(path, relative):
    """(file:line, value, constant it is assigned to) for each catalog value in `path`."""
    tree = ast.parse(path.read_text(), filename=relative)
    owner = _assigned_to(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in VALUES:
            yield f"{relative}:{node.lineno}", node.value, owner.get(id(node))


def template_literals(path, relative):
    """(file:line, value) for each catalog value quoted inside a template tag of `path`."""
    text = path.read_text()
    for tag in TEMPLATE_TAG.finditer(text):
        for quoted in QUOTED.finditer(tag.group()):
            value = quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
            if value in VALUES:
                line = text.count("\n", 0, tag.start() + quoted.start()) + 1
                yield f"{relative}:{line}", value


def python_files(root):
    for folder in ("orders", "dashboard"):
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if "migrations" not in path.parts and relative != CATALOG:
                yield path, relative


def find_literals(root):
    """Every catalog value spelled outside the catalog and the exemptions, and the
    exemptions that were used."""
    found, used = [], set()
    for path, relative in python_files(root):
        for where, value, constant in python_literals(path, relative):
            if (relative, constant) in EXEMPT:
                used.add((relative, constant))
            else:
                found.append(f"{where}: {value!r}")
    for path in sorted((root / "templates").rglob("*.html")):
        relative = path.relative_to(root).as_posix()
        found.extend(f"{where}: {value!r}" for where, value in template_literals(path, relative))
    return found, used


def test_no_status_or_hold_reason_is_spelled_outside_the_catalog():
    found, used = find_literals(ROOT)
    assert not found, (
        "Name these through orders/statuses.py (Status, StatusGroup, Hold, Payment; in "
        "templates the same names), or, if it is not an order status, give it its own "
        "constant and list it in EXEMPT with why:\n" + "\n".join(found)
    )
    assert used == set(EXEMPT), f"exemptions no longer needed: {set(EXEMPT) - used}"


def test_the_walk_finds_a_status_spelled_in_code_or_a_template(tmp_path):
    (tmp_path / "orders").mkdir()
    (tmp_path / "dashboard").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "orders" / "late.py").write_text(
        'def late(order):\n    return order.status == "action_required"\n'
    )
    # An exempted name protects its own file only.
    (tmp_path / "dashboard" / "copy.py").write_text('GAVE_UP = "failed"\n')
    (tmp_path / "templates" / "page.html").write_text(
        "<p>\n{% if order.hold_reason == 'invalid_address' %}fix it{% endif %}</p>\n"
        '<p class="shipped">words outside tags are not code</p>\n'
    )
    found, _used = find_literals(tmp_path)
    assert sorted(found) == [
        "dashboard/copy.py:1: 'failed'",
        "orders/late.py:2: 'action_required'",
        "templates/page.html:2: 'invalid_address'",
    ]
