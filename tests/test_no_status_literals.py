"""Status values live in one place: the catalog (orders/statuses.py) names every state, group,
hold reason and payment status, and the rest of the code uses those names."""

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
