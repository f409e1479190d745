"""The point of no return: until when an order can still be cancelled or changed.

Stock orders can be cancelled or changed until they are labelled, print orders until they
are printed. The merchant is shown when that is expected (docs/deadlines.md):

- stock: the cut-off of the facility on the business day the order is due to be labelled
  (accepted before the day's cut-off: that day; otherwise the next business day), in the
  facility's time zone and business days;
- print: the expected start of production, the facility's (or the products' longer)
  production lead time in business days after that day, at the facility's cut-off.

It is *certain* once a stock order is accepted at its facility (the facility labels it by
that cut-off, possibly sooner), and an *estimate* otherwise: before the order is accepted
(the facility and the day may still change), for print (production is scheduled by the
partner), and when the facility is behind (the cut-off passed and it is not labelled yet).
"""

import datetime
from dataclasses import dataclass

from . import statuses as st
from .statuses import Status

CLOSING_SOON = datetime.timedelta(hours=2)

# Reaching one of these states is the point of no return, per flow.
NO_RETURN_STATE = {st.STOCK: Status.LABELED, st.PRINT: Status.PRINTED}
# Accepted and still before the point of no return: what Closing soon lists.
OPEN_ACCEPTED = [
    s
    for s in st.CANCELLABLE
    if s not in (Status.DRAFT, Status.IMPORT_REVIEW, Status.ACTION_REQUIRED, Status.FAILED)
]

# The page says what the point of no return is in words: "labelled", "production starts",
# "printed" (the word, spelled like the state it follows).
PRINTED_WORD = "printed"


@dataclass
class NoReturn:
    open: bool  # still cancellable / changeable
    at: datetime.datetime | None  # open: when it is expected to close; closed: when it did
    event: str  # "labelled", "production starts", "printed"
    certain: bool = False
    why_estimate: str = ""
    started: datetime.datetime | None = None  # print: production started, still cancellable

    def closing_soon(self, now):
        return self.open and self.at is not None and now <= self.at <= now + CLOSING_SOON


def point_of_no_return(order, now, history=(), center=None, lead_days=None):
    """The order's point of no return as of `now`, or None when it does not apply (cancelled,
    failed, clean swept). `history` is the order's status changes (already loaded), `center`
    the facility to estimate with when the order has none yet (the likely one)."""
    if order.status in (Status.CANCELLED, Status.CLEAN_SWEPT, Status.FAILED, Status.RETURNED):
        return None
    final_state = NO_RETURN_STATE.get(order.flow, Status.LABELED)
    event = "labelled" if order.flow == st.STOCK else "production starts"
    if order.status not in st.CANCELLABLE:
        passed = next(
            (
                h.created_at
                for h in history
                if h.field == "status" and h.target in (Status.LABELED, final_state)
            ),
            None,
        )
        return NoReturn(
            open=False,
            at=passed,
            event="labelled" if final_state == Status.LABELED else PRINTED_WORD,
        )
    if order.status == Status.IN_PRODUCTION:
        started = next(
            (
                h.created_at
                for h in history
                if h.field == "status" and h.target == Status.IN_PRODUCTION
            ),
            None,
        )
        return NoReturn(open=True, at=None, event=PRINTED_WORD, started=started)
    center = order.center or center
    if center is None:
        return NoReturn(open=True, at=None, event=event, why_estimate="no facility can take it yet")
    if order.no_return_by and order.no_return_by > now:
        certain = order.flow == st.STOCK
        return NoReturn(
            open=True,
            at=order.no_return_by,
            event=event,
            certain=certain,
            why_estimate="" if certain else "production is scheduled by the partner",
        )
    if order.no_return_by:
        why = "the facility is behind: it was due by its last cut-off"
    elif order.center_id:
        why = "counted from now at its facility"
    elif order.status == Status.DRAFT:
        why = "counted as if the draft were submitted now"
    else:
        why = "the order is not accepted at a facility yet"
    return NoReturn(
        open=True,
        at=center.no_return_for(order.flow, now, lead_days),
        event=event,
        why_estimate=why,
    )


def time_left(delta):
    """'3 h 12 min', '2 d 4 h', '12 min', 'less than a minute'."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return "less than a minute"
    minutes = seconds // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
