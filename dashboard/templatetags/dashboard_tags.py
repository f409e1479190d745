from functools import lru_cache
from html import escape as _e
from urllib.parse import quote

from django import template
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from orders import hold_detail
from orders import statuses as st
from orders.carriers import tracking_url as carrier_tracking_url
from orders.deadlines import time_left
from orders.services import merchant_actions
from orders.statuses import Status

register = template.Library()


@register.simple_tag
def tracking_url(order):
    return carrier_tracking_url(order.carrier, order.tracking_number)


@register.filter
def is_stuck_at(order, now):
    return order.is_stuck(now)


@register.filter
def is_late_at(order, now):
    return order.is_late(now)


@register.filter
def attr_label(form, name):
    return form.fields[name].label if name in form.fields else name


# The order list's rows are built here rather than with template includes: fifty rows of
# nested includes and lookups cost more than every query of the page together. The markup
# is the same the template wrote; each status badge renders once per process (_badge).

STUCK_FLAG = (
    f'<span class="flag flag-stuck" title="In Import Review for more than {st.STUCK_MINUTES} '
    'minutes: contact support">Stuck</span>'
)
LATE_FLAG = (
    '<span class="flag flag-late" title="Past its ship-by time and not yet labelled">Late</span>'
)
DASH = '<span class="muted">—</span>'


# Every order page URL is this one with the (quoted) number put in, as reverse() would.
PLACEHOLDER = "ORDERNUMBER"
URL_SAFE = "!$&'()*+,;=/~:@"


class _Clock:
    """The times of one table of rows, in the current time zone: the zone, its name, today
    and the day words are looked up once per table instead of once per cell."""

    def __init__(self):
        self.zone = timezone.get_current_timezone()
        self.zone_name = timezone.get_current_timezone_name()
        self.today = timezone.now().astimezone(self.zone).date()
        self.words = {0: _("today"), 1: _("tomorrow"), -1: _("yesterday")}
        self.months = {n: str(MONTHS_3[n]).title() for n in MONTHS_3}

    def local(self, moment):
        return moment.astimezone(self.zone)

    def day(self, local):
        """What humanize's naturalday(moment, "M j") says, without formatting machinery."""
        word = self.words.get((local.date() - self.today).days)
        return word if word is not None else f"{self.months[local.month]} {local.day}"

    def time(self, moment, text):
        """A <time> element showing `text`, with the exact local time on hover."""
        local = self.local(moment)
        return (
            f'<time datetime="{local.isoformat()}" title="{local:%Y-%m-%d %H:%M} '
            f'({_e(self.zone_name)})">{_e(text)}</time>'
        )


@lru_cache(maxsize=512)
def _badge(status, hold_reason):
    """A status badge's markup. It depends only on the status catalog, so each one is
    rendered once per process (a change to _badge.html shows after a restart)."""
    return get_template("dashboard/includes/_badge.html").render(
        {
            "state": st.state(status),
            "group": st.group_of(status),
            "hold": st.hold_reason(hold_reason),
        }
    )


def _short(text, limit):
    """Truncator(text).chars(limit) for plain text: at most `limit` characters, the last
    one an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£"}


@register.filter(name="money")
def money(amount, currency):
    """40.00 USD as "$40.00"; currencies without a sign of their own keep their code."""
    if amount is None:
        return ""
    sign = CURRENCY_SIGNS.get(currency)
    return f"{sign}{amount:,.2f}" if sign else f"{amount:,.2f} {currency}"


def ago(moment, now):
    """How long ago, in the list's words: "just now", "12 min ago", "2 h ago", "3 d ago"."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


@register.simple_tag
def order_rows(orders, now, can_manage, columns=None):
    """The list's table rows for dashboard.rows.OrderRow values. `columns` are the optional
    columns the user chose (dashboard/workspace.py); number, customer and status always
    show. Each cell says what it is (data-label), so a phone shows rows as cards."""
    columns = set(columns if columns is not None else [])
    out = []
    detail = reverse("order_detail", args=[PLACEHOLDER])
    clock = _Clock()
    actions = {}
    for order in orders:
        number = _e(order.number)
        owner = order.owner_label
        parts = [f'<tr class="order-row{" row-held" if owner else ""}">']
        if can_manage:
            pk = order.pk
            state = (order.status, order.hold_reason)
            allowed = actions.get(state)
            if allowed is None:  # the same for every row in this state: asked once
                allowed = actions[state] = " ".join(merchant_actions(*state))
            parts.append(
                f'<td class="col-check"><input type="checkbox" name="selected" value="{pk}" '
                f'id="sel-{pk}" data-actions="{allowed}" aria-label="Select order {number}">'
                f'<input type="hidden" name="seen-{pk}" value="{_e(order.status)}"></td>'
            )
        link = _e(detail.replace(PLACEHOLDER, quote(order.number, safe=URL_SAFE)))
        note = ""
        if order.latest_note is not None:
            n = order.latest_note
            who = "Operations" if n.from_operations else n.author_name
            note = (
                f'<span class="row-note" title="{_e(n.text[:300])}">'
                f"<b>Note</b> ({_e(who)}): {_e(_short(n.text, 60))}</span>"
            )
        parts.append(
            f'<td data-label="Order" class="col-number"><a href="{link}">{number}</a>{note}</td>'
            f'<td class="col-customer" data-label="Customer">{_e(order.customer_name or "—")}'
            f'<span class="sub">{_e(order.customer_email)}</span></td>'
        )
        if "items" in columns:
            count = order.item_count
            parts.append(
                f'<td class="col-items" data-label="Items">{count} item{"" if count == 1 else "s"}'
                f'<span class="sub">{_e(order.first_sku)}</span></td>'
            )
        if "total" in columns:
            parts.append(
                f'<td class="col-total num" data-label="Total">'
                f"{_e(money(order.total, order.currency))}</td>"
            )
        if "payment" in columns:
            label = st.PAYMENT_LABELS.get(order.payment_status, order.payment_status)
            parts.append(
                f'<td class="col-payment" data-label="Payment">'
                f'<span class="pay pay-{_e(order.payment_status)}">{_e(label)}</span></td>'
            )
        flags = STUCK_FLAG if order.is_stuck(now) else ""
        left = order.closing_soon(now)
        if left is not None:
            # The point of no return (orders/deadlines.py) is less than two hours away.
            flags += (
                f'<span class="flag flag-soon" title="Less than 2 hours to change or cancel it">'
                f"Closing soon · {_e(time_left(left))} left</span>"
            )
        second = ""
        if owner:
            if order.status == Status.FAILED:
                detail_text = f"Why: {order.failure_reason}" if order.failure_reason else ""
            elif order.hold_reason and order.hold_detail:
                detail_text = hold_detail.summary(order.hold_reason, order.hold_detail)
            else:
                detail_text = order.hold_note
            second = (
                f'<span class="hold-line"><span class="owner">{_e(owner)}</span>'
                + (f" · {_e(_short(detail_text, 120))}" if detail_text else "")
                + "</span>"
            )
        parts.append(
            f'<td class="col-status" data-label="Status">'
            f"{_badge(order.status, order.hold_reason)}{flags}{second}</td>"
        )
        if "ship_by" in columns:
            if order.ship_by:
                local = clock.local(order.ship_by)
                text = f"{clock.day(local)} {local:%H:%M}"
                late = LATE_FLAG if order.is_late(now) else ""
                shown = clock.time(order.ship_by, text)
                parts.append(f'<td class="col-ship-by" data-label="Ship by">{shown}{late}</td>')
            else:
                parts.append(f'<td class="col-ship-by" data-label="Ship by">{DASH}</td>')
        if "changed" in columns:
            parts.append(
                f'<td class="col-changed" data-label="Last change">'
                f"{clock.time(order.status_changed_at, ago(order.status_changed_at, now))}</td>"
            )
        if "created" in columns:
            created = clock.local(order.created_at)
            parts.append(
                f'<td class="col-created" data-label="Created">'
                f"{clock.time(order.created_at, clock.day(created))}</td>"
            )
        if "center" in columns:
            if order.center_id:
                parts.append(
                    f'<td class="col-center" data-label="Center"><span title="'
                    f'{_e(order.center_name)}">{_e(order.center_code)}</span></td>'
                )
            else:
                parts.append(f'<td class="col-center" data-label="Center">{DASH}</td>')
        if "tracking" in columns:
            if order.tracking_number:
                url = _e(carrier_tracking_url(order.carrier, order.tracking_number))
                shown = _e(_short(order.tracking_number, 14))
                parts.append(
                    f'<td class="col-tracking" data-label="Tracking"><a href="{url}" '
                    f'rel="noopener noreferrer" target="_blank">{_e(order.carrier)} {shown}'
                    '<span class="visually-hidden"> (opens the carrier\'s site)</span></a></td>'
                )
            else:
                parts.append(f'<td class="col-tracking" data-label="Tracking">{DASH}</td>')
        parts.append("</tr>")
        out.append("".join(parts))
    return mark_safe("\n".join(out))  # every value above went through _e (html.escape)
