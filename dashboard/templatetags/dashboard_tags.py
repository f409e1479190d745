from functools import lru_cache
from html import escape as _e
from urllib.parse import quote

from django import template
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _

from orders import hold_detail
from orders import statuses as st
from orders.carriers import tracking_url as carrier_tracking_url
from orders.deadlines import time_left

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
def split_words(value):
    return value.split()


@register.filter
def field(form, name):
    return form[name]


@register.filter
def attr_label(form, name):
    return form.fields[name].label if name in form.fields else name


# The order list's rows are built here rather than with template includes: fifty rows of
# nested includes and lookups cost more than every query of the page together. The markup
# is the same the template wrote; each status badge renders once per process (_badge).

STUCK_FLAG = (
    '<span class="flag flag-stuck" title="In Import Review for more than 10 minutes: '
    'contact support">Stuck</span>'
)
LATE_FLAG = (
    '<span class="flag flag-late" title="Past its ship-by time and not yet labelled">Late</span>'
)
DASH = '<span class="muted">—</span>'


# Every order page URL is this one with the (quoted) number put in, as reverse() would.
PLACEHOLDER = "ORDERNUMBER"
URL_SAFE = "!$&'()*+,;=/~:@"


def _day(moment, today):
    """What humanize's naturalday(moment, "M j") says, without formatting machinery."""
    delta = (moment.date() - today).days
    if delta == 0:
        return _("today")
    if delta == 1:
        return _("tomorrow")
    if delta == -1:
        return _("yesterday")
    return f"{MONTHS_3[moment.month].title()} {moment.day}"


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


@register.simple_tag
def order_rows(orders, now, can_manage):
    """The list's table rows for dashboard.rows.OrderRow values."""
    out = []
    detail = reverse("order_detail", args=[PLACEHOLDER])
    today = template_localtime(timezone.now()).date()
    for order in orders:
        created = template_localtime(order.created_at)
        number = _e(order.number)
        parts = ["<tr>"]
        if can_manage:
            pk = order.pk
            parts.append(
                f'<td class="col-check"><input type="checkbox" name="selected" value="{pk}" '
                f'id="sel-{pk}" aria-label="Select order {number}"><input type="hidden" '
                f'name="seen-{pk}" value="{_e(order.status)}"></td>'
            )
        link = _e(detail.replace(PLACEHOLDER, quote(order.number, safe=URL_SAFE)))
        parts.append(
            f'<td class="col-number"><a href="{link}">{number}</a></td>'
            f"<td>{_e(order.customer_name or '—')}"
            f'<span class="sub">{_e(order.customer_email)}</span></td>'
            f'<td class="col-created"><time datetime="{created.isoformat()}" '
            f'title="{created:%Y-%m-%d %H:%M} UTC">{_e(_day(created, today))}</time></td>'
        )
        flags = (STUCK_FLAG if order.is_stuck(now) else "") + (
            LATE_FLAG if order.is_late(now) else ""
        )
        left = order.closing_soon(now)
        if left is not None:
            flags += f'<span class="flag flag-soon">{_e(time_left(left))} left</span>'
        if order.hold_reason and order.hold_detail:
            said = hold_detail.summary(order.hold_reason, order.hold_detail)
            flags += f'<span class="sub hold-line">{_e(_short(said, 120))}</span>'
        parts.append(
            f'<td class="col-status">{_badge(order.status, order.hold_reason)}{flags}</td>'
        )
        if order.center_id:
            parts.append(
                f'<td class="col-center"><span title="{_e(order.center_name)}">'
                f"{_e(order.center_code)}</span></td>"
            )
        else:
            parts.append(f'<td class="col-center">{DASH}</td>')
        if order.tracking_number:
            url = _e(carrier_tracking_url(order.carrier, order.tracking_number))
            shown = _e(_short(order.tracking_number, 14))
            parts.append(
                f'<td class="col-tracking"><a href="{url}" rel="noopener noreferrer" '
                f'target="_blank">{_e(order.carrier)} {shown}<span class="visually-hidden"> '
                "(opens the carrier's site)</span></a></td>"
            )
        else:
            parts.append(f'<td class="col-tracking">{DASH}</td>')
        parts.append("</tr>")
        out.append("".join(parts))
    return mark_safe("\n".join(out))  # every value above went through _e (html.escape)
