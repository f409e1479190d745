from django.utils.html import escape

from orders import statuses as st

from .dashboard_helpers import login


def test_status_guide_lists_every_status_sub_status_and_hold_reason(client, viewer):
    login(client, viewer)
    response = client.get("/status-guide/")
    assert response.status_code == 200
    body = response.content.decode()
    for group in st.GROUPS:
        assert f'id="group-{group.value}"' in body
        assert group.label in body
    for state in st.STATES:
        assert f'id="state-{state.value}"' in body
        assert state.label in body
        assert escape(state.explanation) in body
        assert escape(state.what_you_can_do) in body
    for reason in st.HOLD_REASONS:
        assert f'id="hold-{reason.value}"' in body
        assert escape(reason.explanation) in body
        assert escape(reason.what_you_can_do) in body
    for _value, label in st.PAYMENT_STATUSES:
        assert label in body


def test_status_guide_is_linked_from_the_list_and_the_order_page(client, viewer, make_order):
    order = make_order()
    login(client, viewer)
    assert b'href="/status-guide/"' in client.get("/orders/").content
    detail = client.get(f"/orders/{order.number}/").content
    assert b'href="/status-guide/#state-import_review"' in detail
