"""The order list's navigation written in Python (dashboard/templatetags/list_nav.py) links
exactly where Django's {% querystring %} would, and escapes what it shows."""

import pytest
from django.template import Context, RequestContext, Template
from django.test import RequestFactory

from dashboard.templatetags.list_nav import Links, list_tabs, view_links

QUERIES = [
    "",
    "group=shipped",
    "q=a%26b&x=%C3%A9+y&group=",
    "status=picked&group=processing&status=packed&cursor=abc",
    "view=late&q=%22quoted%22+%3Ctag%3E",
]
CHANGES = [
    {"group": "processing", "status": None, "hold_reason": None, "page": None, "cursor": None},
    {"status": "in_transit", "hold_reason": None, "page": None, "cursor": None},
    {"view": None, "page": None, "cursor": None},
    {"view": "waiting_on_you", "page": None, "cursor": None},
    {"group": "", "status": None},
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("changes", CHANGES)
def test_links_spell_the_query_as_querystring_does(query, changes):
    request = RequestFactory().get(f"/orders/?{query}")
    arguments = " ".join(f"{key}=v_{key}" for key in changes)
    template = Template("{% querystring " + arguments + " %}")
    context = RequestContext(request, {f"v_{k}": v for k, v in changes.items()})
    assert Links(request.GET)(**changes) == template.render(context).replace("&amp;", "&")


def test_tabs_and_views_escape_what_they_show(rf):
    request = rf.get("/orders/", {"q": '"><script>'})
    context = Context({"request": request})
    tabs = [
        {"value": "", "label": "All", "count": 1200, "active": True, "tone": "all"},
        {"value": "x", "label": "<b>", "count": 0, "active": False, "tone": "t", "aside": True},
    ]
    chips = [
        {
            "param": "status",
            "value": "a&b",
            "label": "A & B",
            "count": 3,
            "active": False,
            "title": 'say "hi"',
        }
    ]
    html = list_tabs(context, tabs, chips)
    assert "<script>" not in html and "&lt;b&gt;" in html
    assert "1,200" in html and 'title="say &quot;hi&quot;"' in html
    assert "status=a%26b" in html
    assert '<summary>Status: <b>All</b> <span class="count">1,200</span></summary>' in html
    views = [{"value": "late", "label": "Late", "count": 1000, "capped": True, "active": False}]
    html = view_links(context, views, [], "")
    assert "1,000+" in html and "view=late" in html and "<script>" not in html


def test_the_center_filter_shows_centers_as_they_are_now(client, manager, centers):
    """The center select is kept once rendered, keyed by its options: a renamed or new
    center shows at once."""
    from orders.models import FulfillmentCenter

    from .dashboard_helpers import login

    login(client, manager)
    first = client.get("/orders/").text
    center = centers[0] if isinstance(centers, list | tuple) else FulfillmentCenter.objects.first()
    assert f">{center}</option>" in first
    FulfillmentCenter.objects.filter(pk=center.pk).update(name="Renamed Hub", code="RN1")
    center = FulfillmentCenter.objects.get(pk=center.pk)
    again = client.get("/orders/", {"center": "RN1"}).text
    assert f'<option value="RN1" selected>{center}</option>' in again
    assert f">{center}</option>" in client.get("/orders/").text
