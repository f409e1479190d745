"""A Content-Security-Policy without 'unsafe-inline' is coming: pages must not depend on
inline scripts, inline event handlers or style attributes."""

import re

import pytest

from .dashboard_helpers import hold, login

INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|\sstyle=", re.I)


@pytest.mark.parametrize(
    "url",
    [
        "/orders/",
        "/orders/?group=action_required",
        "/orders/H-1/",
        "/orders/H-1/cancel/",
        "/orders/H-1/address/",
        "/status-guide/",
    ],
)
def test_pages_have_no_inline_code(client, manager, staff, make_order, url):
    hold(make_order(number="H-1"), staff)
    login(client, manager)
    body = client.get(url).content.decode()
    assert not INLINE.findall(body)
    assert "/static/js/htmx.min.js" in body and "/static/js/dashboard.js" in body


def test_sign_in_page_has_no_inline_code(client, db):
    assert not INLINE.findall(client.get("/accounts/login/").content.decode())
