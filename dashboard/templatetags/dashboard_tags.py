from urllib.parse import quote

from django import template
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _

from orders.carriers import tracking_url as carrier_tracking_url

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
# is the same the template wrote; each status badge renders once per page and is reused.

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


@register.simple_tag
def order_rows(orders, now, can_manage):
    badge = get_template("dashboard/includes/_badge.html")
    badges = {}
    out = []
    detail = reverse("order_detail", args=[PLACEHOLDER])
    today = template_localtime(timezone.now()).date()
    for order in orders:
        key = (order.status, order.hold_reason)
        if key not in badges:
            badges[key] = badge.render(
                {"state": order.state, "group": order.group, "hold": order.hold_info}
            )
        created = template_localtime(order.created_at)
        parts = ["<tr>"]
        if can_manage:
            parts.append(
                format_html(
                    '<td class="col-check"><input type="checkbox" name="selected" value="{}" '
                    'id="sel-{}" aria-label="Select order {}"><input type="hidden" '
                    'name="seen-{}" value="{}"></td>',
                    order.pk,
                    order.pk,
                    order.number,
                    order.pk,
                    order.status,
                )
            )
        parts.append(
            format_html(
                '<td class="col-number"><a href="{}">{}</a></td>'
                '<td>{}<span class="sub">{}</span></td>'
                '<td class="col-created"><time datetime="{}" title="{} UTC">{}</time></td>',
                detail.replace(PLACEHOLDER, quote(order.number, safe=URL_SAFE)),
                order.number,
                order.customer_name or "—",
                order.customer_email,
                created.isoformat(),
                f"{created:%Y-%m-%d %H:%M}",
                _day(created, today),
            )
        )
        flags = (STUCK_FLAG if order.is_stuck(now) else "") + (
            LATE_FLAG if order.is_late(now) else ""
        )
        parts.append(format_html('<td class="col-status">{}{}</td>', badges[key], mark_safe(flags)))
        if order.center_id:
            parts.append(
                format_html(
                    '<td class="col-center"><span title="{}">{}</span></td>',
                    order.center.name,
                    order.center.code,
                )
            )
        else:
            parts.append(format_html('<td class="col-center">{}</td>', mark_safe(DASH)))
        if order.tracking_number:
            parts.append(
                format_html(
                    '<td class="col-tracking"><a href="{}" rel="noopener noreferrer" '
                    'target="_blank">{} {}<span class="visually-hidden"> (opens the '
                    "carrier's site)</span></a></td>",
                    carrier_tracking_url(order.carrier, order.tracking_number),
                    order.carrier,
                    Truncator(order.tracking_number).chars(14),
                )
            )
        else:
            parts.append(format_html('<td class="col-tracking">{}</td>', mark_safe(DASH)))
        parts.append("</tr>")
        out.append("".join(parts))
    return mark_safe("\n".join(out))  # every value went through format_html
