"""Production settings read from the environment pass the deploy checks and set the security
headers and cookies; pages carry a Content-Security-Policy without inline code or eval; every
POST is CSRF-protected except the signed webhook and the token-authenticated API; API tokens
are stored only hashed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from orders.models import Order
from orders.tokens import token_create

from .dashboard_helpers import login

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "-production-test-key-" + "y" * 30,
    "ALLOWED_HOSTS": "dashboard.example.com",
    "DJANGO_SETTINGS_MODULE": "dashboard.settings",
}
# Reads the settings module only (no django.setup(): loading every app adds a second per run
# and changes no setting; the deploy check below loads them all).
SHOW_SETTINGS = """
import json
from django.conf import settings as s
names = [
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_PROXY_SSL_HEADER", "X_FRAME_OPTIONS", "SECURE_REFERRER_POLICY",
    "SECURE_CONTENT_TYPE_NOSNIFF", "CONTENT_SECURITY_POLICY", "MIDDLEWARE",
    "AUTHENTICATION_BACKENDS", "SECRET_KEY", "TRACKING_WEBHOOK_SECRET",
]
print(json.dumps({n: getattr(s, n, None) for n in names}))
"""


def run_django(args, extra_env=None, drop=()):
    """Run python in a clean environment: only PATH and what the test gives, so the test
    settings' DEBUG=1 and keys of this process cannot leak in."""
    env = {"PATH": os.environ.get("PATH", ""), **PRODUCTION_ENV, **(extra_env or {})}
    for name in drop:
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def production_settings(**extra_env):
    result = run_django(["-c", SHOW_SETTINGS], extra_env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- production settings -------------------------------------------------------------------


def test_production_settings_pass_the_deploy_checks():
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_are_hardened():
    s = production_settings()
    assert s["DEBUG"] is False
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SESSION_COOKIE_HTTPONLY"] is True
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] >= 31536000 and s["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["X_FRAME_OPTIONS"] == "DENY"
    assert s["SECURE_REFERRER_POLICY"] == "same-origin"
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    directives = s["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "dashboard.security.CSPMiddleware" in s["MIDDLEWARE"]
    assert s["MIDDLEWARE"][-1] == "axes.middleware.AxesMiddleware"
    assert s["AUTHENTICATION_BACKENDS"][0] == "axes.backends.AxesStandaloneBackend"
    # Secrets come from the environment only: no development fallbacks in production.
    assert s["SECRET_KEY"] == PRODUCTION_ENV["SECRET_KEY"]
    assert s["TRACKING_WEBHOOK_SECRET"] == ""


def test_proxy_ssl_header_comes_from_the_environment():
    assert production_settings(SECURE_PROXY_SSL_HEADER="X-Forwarded-Ssl: on")[
        "SECURE_PROXY_SSL_HEADER"
    ] == ["HTTP_X_FORWARDED_SSL", "on"]
    assert production_settings(SECURE_PROXY_SSL_HEADER="")["SECURE_PROXY_SSL_HEADER"] is None


def test_production_refuses_to_start_without_a_secret_key():
    result = run_django(["manage.py", "check"], drop=["SECRET_KEY"])
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


# --- Content-Security-Policy ---------------------------------------------------------------


@pytest.mark.parametrize("url", ["/accounts/login/", "/orders/", "/admin/login/"])
def test_pages_carry_a_strict_content_security_policy(client, manager, url):
    login(client, manager)
    response = client.get(url)
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_htmx_is_told_not_to_inject_styles_or_evaluate_code(client, db):
    page = client.get("/accounts/login/").text
    config = page.split('name="htmx-config" content=\'', 1)[1].split("'", 1)[0]
    settings = json.loads(config)
    # htmx 2 adds an inline <style> for indicators and runs eval for hx-on/js: unless told not
    # to; the policy above would block both.
    assert settings["includeIndicatorStyles"] is False
    assert settings["allowEval"] is False
    assert settings["allowScriptTags"] is False


# --- CSRF ----------------------------------------------------------------------------------

# Machine endpoints authenticated by something other than a session cookie.
CSRF_EXEMPT_ALLOWED = {
    "dashboard.webhooks.tracking_webhook",  # HMAC signature over the body
    "dashboard.api.orders",  # bearer token
    "dashboard.api.order_detail",
    "dashboard.api.order_submit_view",
    "dashboard.notify_views.api_endpoints",  # bearer token (webhook endpoints)
    "dashboard.notify_views.api_endpoint",
    "dashboard.api.order_personalization_complete_view",
    "dashboard.api.import_detail",  # bearer token
    "dashboard.tracking_sources.easypost_webhook",  # EasyPost's HMAC over the body
    "dashboard.tracking_sources.aftership_webhook",  # AfterShip's HMAC over the body
}


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def test_only_the_webhook_and_the_token_api_are_csrf_exempt():
    views = list(_walk(get_resolver().url_patterns))
    assert len(views) > 40  # the walk reached the admin's URLs too
    exempt = {
        f"{view.__module__}.{view.__name__}": route
        for route, view in views
        if getattr(view, "csrf_exempt", False)
    }
    assert set(exempt) == CSRF_EXEMPT_ALLOWED, exempt


def test_the_csrf_exempt_api_ignores_the_session(client, manager, products):
    """Exempt is only safe because the API never looks at the session: a signed-in browser
    without a token gets 401, so a forged cross-site POST does nothing."""
    login(client, manager)
    response = client.post(
        "/api/v1/orders",
        data=json.dumps(
            {"number": "X-1", "lines": [{"sku": "TEE-1", "quantity": 1, "unit_price": "9.99"}]}
        ),
        content_type="application/json",
    )
    assert response.status_code == 401
    assert not Order.objects.filter(number="X-1").exists()


@pytest.fixture
def csrf_client(manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    return client


def test_a_dashboard_post_without_a_csrf_token_is_refused(csrf_client, make_order):
    order = make_order(number="C-1")
    response = csrf_client.post(reverse("order_cancel", args=["C-1"]), {})
    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).status == order.status


def test_a_bulk_post_without_a_csrf_token_is_refused(csrf_client, make_order):
    order = make_order(number="C-2")
    response = csrf_client.post(
        reverse("bulk_action"),
        {"action": "cancel", "scope": "selected", "selected": [order.pk], "confirmed": "1"},
    )
    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).status == order.status


def test_the_same_post_with_the_csrf_token_goes_through(csrf_client, make_order):
    order = make_order(number="C-3")
    csrf_client.get(reverse("order_detail", args=["C-3"]))  # sets the CSRF cookie
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(
        reverse("order_cancel", args=["C-3"]), {"csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == "cancelled"


# --- API tokens ----------------------------------------------------------------------------


def test_no_table_holds_the_raw_api_token(merchant, products, centers):
    """After creating a token and using it, the raw token is nowhere in the database: not in
    the token row, the audit log, the history or any other table."""
    _token, raw = token_create(merchant=merchant, name="Shop")
    client = Client()
    response = client.post(
        "/api/v1/orders",
        data=json.dumps(
            {"number": "T-1", "lines": [{"sku": "TEE-1", "quantity": 1, "unit_price": "9.99"}]}
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201
    secret = raw.removeprefix("fdk_")
    scanned = 0
    for model in apps.get_models():
        for row in model._base_manager.values_list():
            scanned += 1
            assert secret not in json.dumps(row, default=str), model.__name__
    assert scanned > 10
