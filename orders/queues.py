"""Staff work queues: which orders wait for which next step. The admin shows them as list
filters (combine with the center filter for one facility's queue).

A queue waiting for a transition takes its states from the state machine itself, so the
queues follow the machine if it changes; flow conditions the machine checks in Python are
repeated here as query conditions."""

from dataclasses import dataclass

from django.db.models import Q

from . import statuses as st
from .models import Order
from .statuses import Status

STAFF_HOLD_REASONS = [h.value for h in st.HOLD_REASONS if h.resolved_by == "staff"]


@dataclass(frozen=True)
class Queue:
    value: str
    label: str
    transition: str = ""  # orders waiting for this transition
    condition: Q = Q()

    def apply(self, queryset):
        if self.value == "late":
            return queryset.late()
        if self.value == "stuck":
            return queryset.stuck()
        if self.value == "staff_holds":
            return queryset.filter(
                status=Status.ACTION_REQUIRED, hold_reason__in=STAFF_HOLD_REASONS
            )
        return queryset.filter(self.condition, status__in=sources_of(self.transition))


def sources_of(name):
    """The states a status transition can start from, read from the state machine."""
    sources = set()
    for transition in Order._meta.get_field("status").get_all_transitions(Order):
        if transition.name == name:
            sources.add(transition.source)
    return sorted(sources)


QUEUES = [
    Queue("to_pick", "To pick", "start_pick", Q(flow=st.STOCK)),
    Queue("picking", "Picking", "finish_pick"),
    Queue("to_digitize", "To digitize", "start_digitizing", Q(flow=st.PRINT, has_embroidery=True)),
    Queue(
        "to_upload",
        "To upload",
        "start_upload",
        Q(flow=st.PRINT) & (Q(has_embroidery=False) | Q(status=Status.DIGITIZING)),
    ),
    Queue("file_check", "File check", "pass_file"),
    Queue("to_produce", "To produce", "start_production"),
    Queue(Status.IN_PRODUCTION, "In production", "finish_production"),
    Queue("to_pack", "To pack and label", "pack_and_label"),
    Queue("to_hand_over", "To hand over", "hand_over"),
    Queue("staff_holds", "Holds for staff"),
    Queue("late", "Late (past ship-by)"),
    Queue("stuck", "Stuck in review"),
]
QUEUE_BY_VALUE = {q.value: q for q in QUEUES}
