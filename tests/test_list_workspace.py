"""The list as a workspace: rows worth reading, whose move it is, honest bulk actions,
saved views, internal notes, remembered columns and the merchant's time zone."""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import statuses as st
from orders.integrity import HistoryIsAppendOnly
from orders.models import ListPreference, Merchant, Order, OrderNote, SavedView
from orders.notes import NoteRefused, order_add_note
from orders.services import MERCHANT_TRANSITIONS, merchant_actions, refusal_reason

from .dashboard_helpers import fail, hold, login
from .test_order_list import numbers

BULK = "/orders/actions/bulk/"


def row_of(response, number):
    match = re.search(
        rf'<tr class="order-row[^"]*">(?:(?!</tr>).)*?>{re.escape(number)}</a>.*?</tr>',
        response.text,
        re.S,
    )
    assert match, f"no row for {number}"
    return match.group(0)


# --- rows worth reading ----------------------------------------------------------------------


def test_row_shows_money_items_payment_ship_by_change_center_and_tracking(
    client, manager, make_order, drive
):
    order = drive(make_order(number="ROW-1", total=Decimal("1234.50")), "shipped")
    login(client, manager)
    row = row_of(client.get("/orders/"), "ROW-1")
    assert "$1,234.50" in row
    assert "1 item" in row and "TEE-1" in row
    assert "Pending" in row  # payment
    assert "just now" in row or "min ago" in row  # last change, relative
    assert 'title="' in row and "(UTC)" in row  # the exact time on hover, with its zone
    assert "NJ1" in row or order.center.code in row
    assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in row


def test_held_row_says_whose_move_and_the_hold_detail(client, manager, staff, make_order):
    from orders.services import order_transition

    order_transition(
        order=make_order(number="HELD-1"),
        name="hold",
        by=staff,
        params={"reason": "invalid_address", "note": "Postal code 1000 does not exist in NY"},
    )
    hold(make_order(number="HELD-2"), staff, reason="pending_approval")
    fail(make_order(number="FAIL-1"), staff, reason="Artwork rejected: 72 dpi")
    login(client, manager)
    response = client.get("/orders/")
    assert "Waiting on you" in row_of(response, "HELD-1")
    assert "Postal code 1000 does not exist in NY" in row_of(response, "HELD-1")
    assert "Waiting on us" in row_of(response, "HELD-2")
    assert "Why: Artwork rejected: 72 dpi" in row_of(response, "FAIL-1")


def test_late_and_closing_soon_flags(client, manager, make_order, drive):
    """Late reads ship-by; Closing soon is the point of no return (orders/deadlines.py)
    within 2 hours, the same rule as the Closing soon view."""
    now = timezone.now()
    late = drive(make_order(number="LATE-1"), "processing")
    soon = drive(make_order(number="SOON-1"), "processing")
    later = drive(make_order(number="LATER-1"), "processing")
    ship_soon = drive(make_order(number="SHIPSOON-1"), "processing")
    hour = datetime.timedelta(hours=1)
    Order.objects.filter(pk=late.pk).update(ship_by=now - hour, no_return_by=now - 2 * hour)
    Order.objects.filter(pk=soon.pk).update(ship_by=now + 5 * hour, no_return_by=now + 1.5 * hour)
    Order.objects.filter(pk=later.pk).update(ship_by=now + 30 * hour, no_return_by=now + 26 * hour)
    # Ship-by close but the point of no return far away: not closing.
    Order.objects.filter(pk=ship_soon.pk).update(ship_by=now + hour, no_return_by=now + 9 * hour)
    login(client, manager)
    response = client.get("/orders/")
    assert "flag-late" in row_of(response, "LATE-1")
    assert "flag-soon" not in row_of(response, "LATE-1")
    assert "flag-soon" in row_of(response, "SOON-1")
    assert re.search(r"1 h 2\d min left", row_of(response, "SOON-1"))
    assert "flag-" not in row_of(response, "LATER-1")
    assert "flag-" not in row_of(response, "SHIPSOON-1")


def test_times_show_in_the_merchants_time_zone(client, manager, merchant, make_order):
    order = make_order(number="TZ-1")
    Merchant.objects.filter(pk=merchant.pk).update(time_zone="Asia/Tokyo")
    login(client, manager)
    response = client.get("/orders/")
    assert "Asia/Tokyo" in response.text  # the header says which zone
    local = order.created_at.astimezone(datetime.timezone(datetime.timedelta(hours=9)))
    assert f"{local:%Y-%m-%d %H:%M} (Asia/Tokyo)" in row_of(response, "TZ-1")


def test_sortable_headings_link_to_indexed_sorts(client, manager, make_order):
    make_order(number="S-2")
    make_order(number="S-1")
    login(client, manager)
    response = client.get("/orders/")
    assert 'href="/orders/?sort=number"' in response.text
    assert numbers(client.get("/orders/", {"sort": "number"})) == ["S-1", "S-2"]
    response = client.get("/orders/", {"sort": "number"})
    assert 'aria-sort="ascending"' in response.text and "sort=-number" in response.text


def test_column_choice_is_remembered_per_user(client, manager, viewer, make_order):
    make_order(number="COL-1")
    login(client, manager)
    assert "col-payment" in client.get("/orders/").text
    response = client.post("/list/columns/", {"columns": ["total", "bogus"], "back": "q=x"})
    assert response.status_code == 302 and response["Location"] == "/orders/?q=x"
    assert ListPreference.objects.get(user=manager).columns == ["total"]
    body = client.get("/orders/").text
    assert "col-total" in body and "col-payment" not in body and "col-tracking" not in body
    # Another user keeps the defaults.
    login(client, viewer)
    assert "col-payment" in client.get("/orders/").text


# --- whose move it is ----------------------------------------------------------------------------


def test_every_hold_reason_has_an_owner():
    for reason in st.HOLD_REASONS:
        assert reason.owner in (st.YOU, st.US, st.CUSTOMER), reason.value
    assert st.hold_owner("pending_approval") == st.US
    assert st.hold_owner("invalid_address") == st.YOU
    assert st.hold_owner("pending_personalization") == st.CUSTOMER


def test_views_have_counts_and_a_merchant_with_work_lands_on_waiting_on_you(
    client, manager, staff, make_order
):
    login(client, manager)
    assert client.get("/")["Location"] == "/orders/"  # nothing waits on them
    hold(make_order(number="W-1"), staff)
    hold(make_order(number="W-2"), staff, reason="payment_refused")
    hold(make_order(number="W-3"), staff, reason="special_requirements")
    assert client.get("/")["Location"] == "/orders/?view=waiting_on_you"
    body = client.get("/orders/").text
    assert re.search(r"Waiting on you <span class=\"count\">2</span>", body)
    assert re.search(r"Waiting on us <span class=\"count\">1</span>", body)
    assert sorted(numbers(client.get("/orders/", {"view": "waiting_on_you"}))) == ["W-1", "W-2"]


# --- honest bulk actions -----------------------------------------------------------------------


def test_merchant_actions_agree_with_the_state_machine(make_order, manager, staff, drive):
    """The row form of the rule (values) says what the transitions say, state by state."""
    from .dashboard_helpers import put_in

    orders = []
    for state in [
        "import_review",
        "action_required",
        "processing",
        "picked",
        "labeled",
        "shipped",
        "failed",
        "cancelled",
    ]:
        order = put_in(make_order(), state, staff=staff, manager=manager, drive=drive)
        orders.append(order)
    orders.append(make_order(draft=True))
    for order in orders:
        for action in ("cancel", "clean_sweep", "retry"):
            allowed = refusal_reason(order, action, manager) is None
            assert (action in merchant_actions(order.status, order.hold_reason)) == allowed, (
                order.status,
                action,
            )


def test_bulk_cancel_of_a_mix_says_who_can_and_acts_on_those_only(
    client, manager, make_order, drive
):
    can = [make_order(number=f"MIX-OK-{i}") for i in range(3)]
    shipped = [drive(make_order(number=f"MIX-SHIP-{i}"), "shipped") for i in range(2)]
    printed = drive(make_order(number="MIX-PRINT", kind="print"), "printed")
    chosen = [*can, *shipped, printed]
    login(client, manager)
    confirm = client.post(BULK, {"action": "cancel", "selected": [o.pk for o in chosen]})
    text = confirm.content.decode()
    assert "3 of 6 can be cancelled; 3 cannot: 2 already shipped, 1 already printed." in text
    assert "MIX-SHIP-0" in text and "MIX-PRINT" in text
    assert "btn-danger" in text
    # The confirmation carries exactly the eligible orders.
    posted = re.findall(r'name="selected" value="(\d+)"', text)
    assert sorted(map(int, posted)) == sorted(o.pk for o in can)
    before = {o.pk: Order.objects.get(pk=o.pk).history.count() for o in chosen}
    result = client.post(
        BULK, {"action": "cancel", "confirmed": "1", "selected": [o.pk for o in chosen]}
    )
    assert result.status_code == 200
    for order in can:
        assert Order.objects.get(pk=order.pk).status == "cancelled"
    for order in [*shipped, printed]:
        fresh = Order.objects.get(pk=order.pk)
        assert fresh.status == order.status
        assert fresh.history.count() == before[order.pk]


def test_a_bulk_action_nobody_allows_has_no_red_button(client, manager, staff, make_order):
    orders = [make_order(number=f"GONE-{i}") for i in range(2)]
    for order in orders:
        from orders.services import order_transition

        order_transition(order=order, name="cancel", by=manager)
    login(client, manager)
    confirm = client.post(
        f"{BULK}?group=cancelled", {"action": "clean_sweep", "scope": "all"}
    ).content.decode()
    assert "None of the 2 can be clean swept: 2 already cancelled." in confirm
    assert "btn-danger" not in confirm and "Yes," not in confirm
    assert "nothing to do" in confirm


def test_rows_say_which_actions_they_allow_and_the_page_can_select_all(
    client, manager, make_order, drive
):
    make_order(number="A-NEW")
    drive(make_order(number="A-SHIP"), "shipped")
    login(client, manager)
    response = client.get("/orders/")
    assert 'data-actions="cancel clean_sweep"' in row_of(response, "A-NEW")
    assert 'data-actions=""' in row_of(response, "A-SHIP")
    assert "data-select-page" in response.text
    assert "Select all 2 matching this view" in response.text


# --- internal notes -----------------------------------------------------------------------------


def test_manager_adds_a_note_seen_in_timeline_list_export_and_search(client, manager, make_order):
    order = make_order(number="NOTE-1")
    make_order(number="NOTE-2")
    login(client, manager)
    response = client.post(f"/orders/{order.number}/notes/", {"text": "Customer wants gift wrap"})
    assert response.status_code == 302
    note = OrderNote.objects.get(order=order)
    assert (note.author, note.author_name, note.from_operations) == (manager, "alice", False)
    page = client.get(f"/orders/{order.number}/").text
    assert "Customer wants gift wrap" in page and "by alice" in page
    assert "Customer wants gift wrap" in row_of(client.get("/orders/"), "NOTE-1")
    assert numbers(client.get("/orders/", {"q": "gift wr"})) == ["NOTE-1"]
    export = client.get("/orders/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    by_number = {r["order_number"]: r for r in rows}
    assert by_number["NOTE-1"]["latest_note"] == "Customer wants gift wrap"
    assert by_number["NOTE-2"]["latest_note"] == ""


def test_notes_are_append_only(manager, make_order):
    order = make_order()
    note = order_add_note(order=order, by=manager, text="first")
    note.text = "changed"
    with pytest.raises(HistoryIsAppendOnly):
        note.save()
    with pytest.raises(HistoryIsAppendOnly):
        note.delete()
    with pytest.raises(HistoryIsAppendOnly):
        OrderNote.objects.filter(pk=note.pk).delete()
    assert OrderNote.objects.get(pk=note.pk).text == "first"


@pytest.mark.parametrize("text", ["", "   ", "x" * 2001])
def test_bad_notes_are_refused_with_a_message(client, manager, make_order, text):
    order = make_order()
    with pytest.raises(NoteRefused):
        order_add_note(order=order, by=manager, text=text)
    login(client, manager)
    response = client.post(f"/orders/{order.number}/notes/", {"text": text}, follow=True)
    assert response.status_code == 200
    assert OrderNote.objects.count() == 0


def test_viewer_and_other_merchant_cannot_add_notes(client, viewer, outsider, make_order):
    order = make_order(number="PRIV-1")
    login(client, viewer)
    assert client.post(f"/orders/{order.number}/notes/", {"text": "hi"}).status_code == 403
    login(client, outsider)
    assert client.post(f"/orders/{order.number}/notes/", {"text": "hi"}).status_code == 404
    assert OrderNote.objects.count() == 0


def test_staff_write_notes_from_the_admin_as_operations(client, staff, manager, make_order):
    order = make_order(number="OPS-1")
    client.force_login(staff)
    url = f"/admin/orders/order/{order.pk}/change/"
    form = client.get(url)
    assert form.status_code == 200
    data = _admin_form_data(form)
    data.update({"notes-0-text": "We are waiting for the dye lot: ships Friday"})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    note = OrderNote.objects.get(order=order)
    assert note.from_operations and note.author == staff
    login(client, manager)
    page = client.get(f"/orders/{order.number}/").text
    assert "from operations" in page and "dye lot" in page


def _admin_form_data(response):
    """The admin change form's current values, as a browser would post them back."""
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or getattr(field, "disabled", False):
            continue
        data[name] = value.pk if hasattr(value, "pk") else value
    for formset in response.context["inline_admin_formsets"]:
        fs = formset.formset
        prefix = fs.prefix
        data[f"{prefix}-TOTAL_FORMS"] = len(fs.forms)
        data[f"{prefix}-INITIAL_FORMS"] = fs.initial_form_count()
        data[f"{prefix}-MIN_NUM_FORMS"] = 0
        data[f"{prefix}-MAX_NUM_FORMS"] = 1000
        for i, f in enumerate(fs.forms):
            for name, field in f.fields.items():
                value = f.initial.get(name, field.initial)
                if value is None:
                    continue
                data[f"{prefix}-{i}-{name}"] = value.pk if hasattr(value, "pk") else value
    return data


# --- saved views ---------------------------------------------------------------------------------


def test_save_a_view_and_find_it_with_its_count(client, manager, viewer, staff, make_order):
    hold(make_order(number="SV-1"), staff)
    make_order(number="SV-2")
    login(client, manager)
    response = client.post(
        "/list/views/", {"name": "Held", "back": "group=action_required&cursor=abc"}
    )
    assert response["Location"] == "/orders/?group=action_required"
    view = SavedView.objects.get()
    assert (view.owner, view.shared, view.query) == (manager, False, "group=action_required")
    body = client.get("/orders/").text
    assert re.search(r'>Held <span class="count">1</span>', body)
    # A search view counts with a bound.
    client.post("/list/views/", {"name": "SV search", "back": "q=sv-"})
    assert re.search(r'>SV search <span class="count">2</span>', client.get("/orders/").text)
    # Personal: the viewer does not see it.
    login(client, viewer)
    assert ">Held <span" not in client.get("/orders/").text


def test_shared_views_are_for_the_team_and_viewers_save_personal_ones(
    client, manager, viewer, outsider, make_order
):
    login(client, manager)
    client.post("/list/views/", {"name": "Team view", "back": "group=shipped", "shared": "1"})
    assert SavedView.objects.get(name="Team view").shared
    login(client, viewer)
    assert "Team view" in client.get("/orders/").text
    # A viewer may save for themselves, not share.
    client.post("/list/views/", {"name": "Mine", "back": "group=draft", "shared": "1"})
    assert not SavedView.objects.filter(name="Mine").exists()
    client.post("/list/views/", {"name": "Mine", "back": "group=draft"})
    mine = SavedView.objects.get(name="Mine")
    assert mine.owner == viewer and not mine.shared
    # A viewer cannot delete the team's view.
    team = SavedView.objects.get(name="Team view")
    assert client.post(f"/list/views/{team.pk}/", {"do": "delete"}).status_code == 404
    # Another merchant sees none of them and can change none of them. (The messages cookie
    # of this browser's last user is dropped: it is not merchant data.)
    client.cookies.pop("messages", None)
    login(client, outsider)
    body = client.get("/orders/").text
    assert "Team view" not in body and "Mine" not in body
    for view in (team, mine):
        assert client.post(f"/list/views/{view.pk}/", {"do": "delete"}).status_code == 404
        assert (
            client.post(f"/list/views/{view.pk}/", {"do": "rename", "name": "x"}).status_code == 404
        )
    assert SavedView.objects.count() == 2


def test_rename_reorder_and_delete_views(client, manager):
    login(client, manager)
    for name in ["A", "B", "C"]:
        client.post("/list/views/", {"name": name, "back": f"q={name}"})
    a, b, c = SavedView.objects.order_by("position")
    client.post(f"/list/views/{c.pk}/", {"do": "up"})
    assert [v.name for v in SavedView.objects.order_by("position", "id")] == ["A", "C", "B"]
    client.post(f"/list/views/{a.pk}/", {"do": "rename", "name": "Alpha"})
    client.post(f"/list/views/{a.pk}/", {"do": "rename", "name": ""})  # refused, kept
    assert SavedView.objects.get(pk=a.pk).name == "Alpha"
    client.post(f"/list/views/{b.pk}/", {"do": "delete"})
    assert [v.name for v in SavedView.objects.order_by("position", "id")] == ["Alpha", "C"]
    response = client.post(f"/list/views/{a.pk}/", {"do": "explode"}, follow=True)
    assert response.status_code == 200 and "nothing was done" in response.text


def test_bad_saved_view_input_gets_a_message(client, manager):
    login(client, manager)
    for name in ["", "x" * 61]:
        response = client.post("/list/views/", {"name": name, "back": ""}, follow=True)
        assert response.status_code == 200 and "Nothing was saved" in response.text
    assert SavedView.objects.count() == 0


def test_a_saved_view_with_a_filter_that_no_longer_parses_shows_no_count(client, manager, merchant):
    SavedView.objects.create(
        merchant=merchant, owner=manager, name="Broken", query="created_after=not-a-date"
    )
    login(client, manager)
    response = client.get("/orders/")
    assert response.status_code == 200 and ">Broken</a>" in response.text


@pytest.mark.parametrize(
    "back", ["group=shipped\r\nLocation: https://evil.example", "#x", "%zz", "a=" + "b" * 1200]
)
def test_odd_back_values_stay_on_the_list(client, manager, back):
    login(client, manager)
    for url, data in [
        ("/list/columns/", {"columns": ["total"], "back": back}),
        ("/list/views/", {"name": "V", "back": back}),
    ]:
        response = client.post(url, data)
        assert response.status_code == 302
        assert response["Location"].startswith("/orders/")
        assert "\n" not in response["Location"] and "evil.example/" not in response["Location"]


def test_the_lists_actions_are_the_state_machines_in_every_state_and_hold():
    """merchant_actions() asks the transitions themselves; on values alone it must give the
    same answer as the machine gives for a whole order, in every state and hold reason."""
    for state in st.STATES:
        held = state.value == st.Status.ACTION_REQUIRED
        for reason in [h.value for h in st.HOLD_REASONS] if held else [""]:
            order = Order(status=state.value, hold_reason=reason)
            for action in st.BULK_ACTION_NAMES:
                allowed = refusal_reason(order, action) is None
                assert (action in merchant_actions(state.value, reason)) == allowed, (
                    state.value,
                    reason,
                    action,
                )


def test_the_merchants_transitions_are_those_a_manager_may_trigger():
    assert {"submit", "retry", "cancel", "clean_sweep"} == MERCHANT_TRANSITIONS
