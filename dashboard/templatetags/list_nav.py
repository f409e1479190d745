"""The order list's navigation written in Python: the status tabs (and their phone menu), the
sub-status or hold-reason chips and the view links.

The template wrote the same markup with a `{% querystring %}` per link, which copies the
request's QueryDict each time: about forty copies and as many nested template loops on every
list request, more than a third of the page's rendering. Here the query string is read once
(Links) and each link only says what it changes.
"""

from html import escape as _e
from urllib.parse import quote_plus

from django import template
from django.urls import reverse
from django.utils.safestring import mark_safe

register = template.Library()

CURRENT = ' aria-current="true"'


class Links:
    """The current query string with some parameters set or removed, spelled as
    `{% querystring %}` spells it: parameters keep their place, new ones go last, None
    removes one; "" when both the query and the result are empty, else "?" and the rest."""

    def __init__(self, query_dict):
        self.pairs = [(key, values) for key, values in query_dict.lists()]
        self.keys = {key for key, _values in self.pairs}

    def __call__(self, **changes):
        parts = []
        for key, values in self.pairs:
            if key in changes:
                value = changes[key]
                if value is not None:
                    parts.append(_pair(key, value))
            else:
                parts.extend(_pair(key, value) for value in values)
        for key, value in changes.items():
            if key not in self.keys and value is not None:
                parts.append(_pair(key, value))
        if not parts and not self.pairs:
            return ""
        return "?" + "&".join(parts)


def _pair(key, value):
    return f"{quote_plus(key)}={quote_plus(str(value))}"


def _count(n):
    """intcomma's spelling of a whole number for this site's language (en-us)."""
    return f"{n:,}"


def _links(context):
    links = context.get("_list_links")
    if links is None:
        links = context["_list_links"] = Links(context["request"].GET)
    return links


@register.simple_tag(takes_context=True)
def list_tabs(context, tabs, chips):
    """The status tabs, the same tabs as a menu for phones, and the chosen tab's chips."""
    links = _links(context)
    base = reverse("order_list")
    out = ['<nav class="tabs" aria-label="Status">']
    menu = []
    chosen = ""
    for tab in tabs:
        href = _e(
            base + links(group=tab["value"], status=None, hold_reason=None, page=None, cursor=None)
        )
        current = ' aria-current="page"' if tab["active"] else ""
        label = _e(str(tab["label"]))
        count = f'<span class="count">{_count(tab["count"])}</span>'
        out.append(
            f'<a class="tab tone-{_e(tab["tone"])}{" tab-aside" if tab.get("aside") else ""}" '
            f'href="{href}" hx-get="{href}" hx-push-url="true"{current}>{label} {count}</a>'
        )
        menu.append(f'<li><a href="{href}"{current}>{label} {count}</a></li>')
        if tab["active"]:
            chosen = f"<summary>Status: <b>{label}</b> {count}</summary>"
    out.append("</nav>")
    # On a phone the tabs are one menu: the chosen tab shows, the others open below it.
    out.append(f'<details class="tabs-menu">{chosen}<ul>{"".join(menu)}</ul></details>')
    if chips:
        out.append('<div class="chips-wrap"><nav class="chips" aria-label="Sub-status">')
        for chip in chips:
            if chip["active"]:
                query = links(status=None, hold_reason=None, page=None, cursor=None)
            elif chip["param"] == "status":
                query = links(status=chip["value"], hold_reason=None, page=None, cursor=None)
            else:
                query = links(hold_reason=chip["value"], status=None, page=None, cursor=None)
            href = _e(base + query)
            out.append(
                f'<a class="chip{"" if chip["count"] else " chip-empty"}" href="{href}" '
                f'hx-get="{href}" hx-push-url="true" title="{_e(str(chip["title"]))}"'
                f"{CURRENT if chip['active'] else ''}>"
                f'{_e(str(chip["label"]))} <span class="count">{_count(chip["count"])}</span></a>'
            )
        out.append('</nav><span class="scroll-hint" aria-hidden="true">more →</span></div>')
    return mark_safe("\n".join(out))  # every value above went through _e (html.escape)


@register.simple_tag(takes_context=True)
def view_links(context, views, saved_views, current_state):
    """The smart views and the saved views, each with its count ("1,000+" past the bound)."""
    links = _links(context)
    base = reverse("order_list")
    out = []
    for view in views:
        if view["active"]:
            query = links(view=None, page=None, cursor=None)
        else:
            query = links(view=view["value"], page=None, cursor=None)
        href = _e(base + query)
        out.append(
            f'<a class="view-link{" view-empty" if view["count"] == 0 else ""}" href="{href}" '
            f'hx-get="{href}" hx-push-url="true"'
            f"{CURRENT if view['active'] else ''}>{_e(str(view['label']))}"
            f"{_view_count(view)}</a>"
        )
    for item in saved_views:
        view = item["view"]
        href = _e(f"{base}?{view.query}")
        if view.shared:
            title, mark = (
                "Shared with your team",
                ' <span class="shared-mark muted small">(team)</span>',
            )
        else:
            title, mark = "Only you see this view", ""
        out.append(
            f'<a class="view-link view-saved" href="{href}" hx-get="{href}" hx-push-url="true"'
            f'{CURRENT if view.query == current_state else ""} title="{title}">'
            f"{_e(view.name)}{mark}{_view_count(item)}</a>"
        )
    return mark_safe("\n".join(out))  # every value above went through _e (html.escape)


def _view_count(item):
    if item["count"] is None:
        return ""
    return f' <span class="count">{_count(item["count"])}{"+" if item.get("capped") else ""}</span>'


@register.simple_tag
def filter_fields(form, names):
    """The "More filters" grid: a label and a widget for each of these form fields."""
    out = []
    for name in names.split():
        field = form[name]
        out.append(
            f'<div class="field"><label for="{_e(field.id_for_label)}">{_e(str(field.label))}'
            f"</label>{field}</div>"
        )
    return mark_safe("\n".join(out))  # labels escaped above; widgets render escaped markup
