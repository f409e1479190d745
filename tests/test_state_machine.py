"""The status machine against the SPEC's transition table: every transition works from each
allowed source for its allowed actor and is refused everywhere else; each applied transition
leaves exactly one history row; status fields cannot be assigned; stale copies cannot
overwrite newer statuses."""

import pytest
from django.db import transaction
from django_fsm import ConcurrentTransition, TransitionNotAllowed, can_proceed, has_transition_perm

from orders import statuses as st
from orders.models import Order, StatusChange
from orders.services import ActionRefused, OrderChanged, order_transition

# The SPEC's table, written out independently of the model so the two are compared.
SPEC = {
    "submit": ({"draft"}, "import_review", "manager"),
    "accept": ({"import_review"}, "processing", "machine"),
    "hold": (
        {"import_review", "processing", "pick_in_process", "picked"},
        "action_required",
        "staff",
    ),
    "retry": ({"action_required"}, "import_review", "manager"),
    "approve": ({"action_required"}, "import_review", "staff"),
    "release": ({"action_required"}, "import_review", "staff"),
    "decline": ({"action_required"}, "cancelled", "staff"),
    "start_pick": ({"processing"}, "pick_in_process", "staff"),
    "finish_pick": ({"pick_in_process"}, "picked", "staff"),
    "start_digitizing": ({"processing"}, "digitizing", "staff"),
    "start_upload": ({"processing", "digitizing"}, "uploading", "staff"),
    "pass_file": ({"uploading"}, "passed", "staff"),
    "start_production": ({"passed"}, "in_production", "staff"),
    "finish_production": ({"in_production"}, "printed", "staff"),
    "fail": ({"import_review", "uploading", "passed", "in_production"}, "failed", "staff"),
    "pack_and_label": ({"picked", "printed"}, "labeled", "staff"),
    "hand_over": ({"labeled"}, "shipped", "staff"),
    "scan": ({"shipped", "delivery_exception"}, "in_transit", "machine"),
    "out_for_delivery": (
        {"shipped", "in_transit", "delivery_exception"},
        "out_for_delivery",
        "machine",
    ),
    "deliver": (
        {"shipped", "in_transit", "out_for_delivery", "delivery_exception"},
        "delivered",
        "machine",
    ),
    "exception": ({"shipped", "in_transit", "out_for_delivery"}, "delivery_exception", "machine"),
    "return_to_sender": (
        {"shipped", "in_transit", "out_for_delivery", "delivery_exception"},
        "returned",
        "machine",
    ),
    "cancel": (
        {
            "draft",
            "import_review",
            "action_required",
            "processing",
            "pick_in_process",
            "picked",
            "digitizing",
            "uploading",
            "passed",
            "in_production",
            "failed",
        },
        "cancelled",
        "manager",
    ),
    "clean_sweep": (
        {"draft", "import_review", "action_required", "processing", "failed"},
        "clean_swept",
        "manager",
    ),
}
MERCHANT_REASONS = {
    "insufficient_inventory",
    "invalid_address",
    "product_configuration",
    "not_connected",
    "pending_personalization",
    "payment_refused",
}
PARAMS = {
    "hold": {"reason": "special_requirements"},
    "fail": {"reason": "Artwork rejected"},
    "hand_over": {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
}


def spec_allows(name, order):
    """The SPEC's rule for `name` on this order, conditions included."""
    sources, _target, _actor = SPEC[name]
    if order.status not in sources:
        return False
    reason, flow, emb = order.hold_reason, order.flow, order.has_embroidery
    return {
        "retry": reason in MERCHANT_REASONS,
        "approve": reason == "pending_approval",
        "decline": reason == "pending_approval",
        "release": reason == "special_requirements",
        "start_pick": flow == "stock",
        "start_digitizing": flow == "print" and emb,
        "start_upload": flow == "print" and (not emb or order.status == "digitizing"),
    }.get(name, True)


@pytest.fixture
def reach(make_order, drive, manager, centers):
    """reach(state, kind="stock", reason=None): an order in `state`, by real transitions."""

    def build(state, kind="stock", reason=None):
        if state == "draft":
            return make_order(kind, draft=True)
        order = make_order(kind)
        if state == "import_review":
            return order
        if state == "action_required":
            return order_transition(
                order=order,
                name="hold",
                by="review",
                params={"reason": reason or "invalid_address"},
            )
        if state == "failed":
            return order_transition(order=order, name="fail", by="review", params={"reason": "x"})
        if state in ("cancelled", "clean_swept"):
            name = "cancel" if state == "cancelled" else "clean_sweep"
            return order_transition(order=order, name=name, by=manager)
        if state in ("delivery_exception", "returned"):
            order = drive(order, "shipped")
            order = order_transition(order=order, name="exception", by="carrier")
            if state == "returned":
                order = order_transition(order=order, name="return_to_sender", by="carrier")
            return order
        return drive(order, state)

    return build


def every_order_shape(reach):
    """One order in every state each flow can reach, and one per hold reason."""
    shapes = []
    for s in st.STATES:
        if s.value == "action_required":
            shapes += [reach("action_required", reason=h.value) for h in st.HOLD_REASONS]
            continue
        kinds = {"stock": ["stock"], "print": ["print", "embroidery"]}.get(
            s.flow, ["stock", "print", "embroidery"]
        )
        if s.value == "digitizing":
            kinds = ["embroidery"]
        shapes += [reach(s.value, kind) for kind in kinds]
    return shapes


def test_availability_matches_the_spec_for_every_state_and_transition(reach):
    shapes = every_order_shape(reach)
    assert {o.status for o in shapes} == set(st.STATE_BY_VALUE)
    mismatches = []
    for order in shapes:
        for name in SPEC:
            expected = spec_allows(name, order)
            actual = can_proceed(getattr(order, name))
            if expected != actual:
                mismatches.append((name, order.status, order.flow, order.hold_reason, actual))
    assert mismatches == []


def test_user_permissions_match_the_spec(reach, manager, viewer, outsider, staff):
    people = {"manager": manager, "viewer": viewer, "outsider": outsider, "staff": staff}
    allowed_for = {"manager": {"manager"}, "staff": {"staff"}, "machine": set()}
    mismatches = []
    for order in every_order_shape(reach):
        for name, (_sources, _target, actor) in SPEC.items():
            if not spec_allows(name, order):
                continue
            for who, user in people.items():
                expected = who in allowed_for[actor]
                if has_transition_perm(getattr(order, name), user) != expected:
                    mismatches.append((name, order.status, who))
    assert mismatches == []


def test_available_user_transitions_list_exactly_the_permitted_ones(reach, manager, staff):
    order = reach("action_required", reason="invalid_address")
    names = {t.name for t in order.get_available_user_status_transitions(manager)}
    assert names == {"retry", "cancel", "clean_sweep"}
    assert {t.name for t in order.get_available_user_status_transitions(staff)} == set()
    picked = reach("picked")
    assert {t.name for t in picked.get_available_user_status_transitions(staff)} == {
        "hold",
        "pack_and_label",
    }


def _allowed_cases():
    cases = []
    for name, (sources, target, _actor) in SPEC.items():
        for source in sorted(sources):
            kinds = ["stock", "print"]
            if name in ("start_pick", "finish_pick") or source in ("pick_in_process", "picked"):
                kinds = ["stock"]
            if name in ("start_upload", "pass_file", "start_production", "finish_production") or (
                source in ("uploading", "passed", "in_production", "printed")
            ):
                kinds = ["print"]
            if name == "start_digitizing" or source == "digitizing":
                kinds = ["embroidery"]
            if name == "cancel" and source == "processing":
                kinds = ["stock", "print", "embroidery"]
            reason = {
                "retry": "invalid_address",
                "approve": "pending_approval",
                "decline": "pending_approval",
                "release": "special_requirements",
            }.get(name)
            for kind in kinds:
                cases.append(
                    pytest.param(
                        name, source, target, kind, reason, id=f"{name}-from-{source}-{kind}"
                    )
                )
    return cases


@pytest.mark.parametrize("name,source,target,kind,reason", _allowed_cases())
def test_transition_works_from_each_allowed_source(
    reach, name, source, target, kind, reason, manager, staff, centers
):
    order = reach(source, kind, reason)
    assert order.status == source
    actor = {"manager": manager, "staff": staff, "machine": "carrier"}[SPEC[name][2]]
    params = dict(PARAMS.get(name, {}))
    if name == "accept":
        params["center"], actor = centers[0], "review"
    before = StatusChange.objects.filter(order=order, field="status").count()

    result = order_transition(order=order, name=name, by=actor, params=params)

    fresh = Order.objects.get(pk=order.pk)
    assert result.status == fresh.status == target
    rows = StatusChange.objects.filter(order=order, field="status").order_by("id")
    assert rows.count() == before + 1
    last = rows.last()
    assert (last.transition, last.source, last.target) == (name, source, target)
    if isinstance(actor, str):
        assert last.actor is None and last.actor_name == actor
    else:
        assert last.actor == actor and last.actor_name == actor.username


def test_every_transition_is_refused_from_every_other_state(reach):
    # One set of shapes for all transitions: a refused transition changes neither the row nor
    # the object, so each shape can be tried with every name in turn.
    shapes = every_order_shape(reach)
    refused = dict.fromkeys(SPEC, 0)
    not_refused = []
    for name in sorted(SPEC):
        for order in shapes:
            if spec_allows(name, order):
                continue
            status, reason = order.status, order.hold_reason
            try:
                getattr(order, name)(**PARAMS.get(name, {}))
            except TransitionNotAllowed:
                refused[name] += 1
            else:
                not_refused.append((name, status, order.flow, reason))
                continue
            assert (order.status, order.hold_reason) == (status, reason)
    assert not_refused == []
    assert all(refused.values()), refused
    for order in shapes:
        assert Order.objects.get(pk=order.pk).status == order.status


def test_viewer_and_outsider_are_refused_with_a_reason(reach, viewer, outsider):
    order = reach("processing")
    with pytest.raises(ActionRefused, match="viewer"):
        order_transition(order=order, name="cancel", by=viewer)
    with pytest.raises(ActionRefused, match="manager of this merchant"):
        order_transition(order=order, name="cancel", by=outsider)
    assert Order.objects.get(pk=order.pk).status == "processing"


def test_manager_cannot_drive_staff_transitions(reach, manager):
    order = reach("processing")
    with pytest.raises(ActionRefused, match="operations staff"):
        order_transition(order=order, name="start_pick", by=manager)


def test_refusal_explains_why_cancel_is_gone_after_printing(reach, manager):
    order = reach("printed", "print")
    with pytest.raises(ActionRefused, match="already printed: can no longer be cancelled"):
        order_transition(order=order, name="cancel", by=manager)


def test_assigning_a_status_field_raises(make_order):
    order = make_order()
    with pytest.raises(AttributeError):
        order.status = "cancelled"
    with pytest.raises(AttributeError):
        order.payment_status = "paid"
    fresh = Order.objects.get(pk=order.pk)
    with pytest.raises(AttributeError):
        fresh.status = "shipped"


def test_stale_copy_cannot_overwrite_a_newer_status(reach, manager, staff):
    order = reach("processing")
    first = Order.objects.get(pk=order.pk)
    stale = Order.objects.get(pk=order.pk)
    order_transition(order=first, name="start_pick", by=staff)
    history = StatusChange.objects.filter(order=order).count()

    stale.act_as(manager)
    stale.cancel()
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        stale.save()

    fresh = Order.objects.get(pk=order.pk)
    assert fresh.status == "pick_in_process"
    assert StatusChange.objects.filter(order=order).count() == history


def test_service_refuses_an_action_on_a_status_the_user_no_longer_sees(reach, manager, staff):
    order = reach("processing")
    order_transition(order=order, name="start_pick", by=staff)
    history = StatusChange.objects.filter(order=order).count()
    with pytest.raises(OrderChanged, match="changed meanwhile: it is now Pick in Process"):
        order_transition(order=order, name="cancel", by=manager, expected_status="processing")
    assert Order.objects.get(pk=order.pk).status == "pick_in_process"
    assert StatusChange.objects.filter(order=order).count() == history


def test_a_failing_transition_body_leaves_no_history(reach, staff):
    order = reach("labeled")
    history = StatusChange.objects.filter(order=order).count()
    with pytest.raises(ActionRefused, match="carrier and a tracking number"):
        order_transition(
            order=order,
            name="hand_over",
            by=staff,
            params={"carrier": "UPS", "tracking_number": ""},
        )
    assert Order.objects.get(pk=order.pk).status == "labeled"
    assert StatusChange.objects.filter(order=order).count() == history


def test_hold_reason_is_set_on_hold_and_cleared_when_leaving(reach, manager):
    order = reach("action_required", reason="invalid_address")
    assert order.hold_reason == "invalid_address"
    order = order_transition(order=order, name="retry", by=manager)
    assert Order.objects.get(pk=order.pk).hold_reason == ""


def test_unknown_hold_reason_is_refused(reach, staff):
    order = reach("processing")
    with pytest.raises(ActionRefused, match="Unknown hold reason"):
        order_transition(order=order, name="hold", by=staff, params={"reason": "bored"})
    assert Order.objects.get(pk=order.pk).status == "processing"


def test_status_changed_at_moves_with_each_transition(reach, staff):
    order = reach("processing")
    before = Order.objects.get(pk=order.pk).status_changed_at
    order_transition(order=order, name="start_pick", by=staff)
    assert Order.objects.get(pk=order.pk).status_changed_at > before
