"""`make serve`: production settings keep PostgreSQL connections between requests and check
them first; the gunicorn settings and the serve script are what the docs say."""

import datetime
import json
import runpy
import subprocess
from pathlib import Path

import pytest
from csp.decorators import csp_exempt, csp_update
from csp.exceptions import CSPNonceError
from csp.utils import build_policy
from django.contrib.sessions.models import Session
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from dashboard.security import CSPMiddleware
from dashboard.sessions import SessionStore

from .dashboard_helpers import login
from .test_security_settings import run_django

ROOT = Path(__file__).resolve().parent.parent
SHOW_DATABASES = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({alias: {k: db[k] for k in ("ENGINE", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS",
                                            "OPTIONS")}
                  for alias, db in s.DATABASES.items()}))
"""
POSTGRES = "postgres://app@db.internal:5432/fulfillment"


def databases(**env):
    result = run_django(["-c", SHOW_DATABASES], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_connections_are_kept_and_checked_before_each_request():
    found = databases(DATABASE_URL=POSTGRES, DATABASE_REPLICA_URL=POSTGRES + "_replica")
    for alias in ("default", "replica"):
        assert found[alias]["CONN_MAX_AGE"] == 60
        assert found[alias]["CONN_HEALTH_CHECKS"] is True


def test_connection_keeping_and_checks_come_from_the_environment():
    found = databases(DATABASE_URL=POSTGRES, DB_CONN_MAX_AGE="0", DB_CONN_HEALTH_CHECKS="0")
    assert found["default"]["CONN_MAX_AGE"] == 0
    assert found["default"]["CONN_HEALTH_CHECKS"] is False


def test_postgresql_connections_turn_jit_compiling_off_unless_told():
    found = databases(DATABASE_URL=POSTGRES, DATABASE_REPLICA_URL=POSTGRES + "_replica")
    for alias in ("default", "replica"):
        assert found[alias]["OPTIONS"]["options"] == "-c jit=off"
    kept = databases(DATABASE_URL=POSTGRES, DB_JIT="1")
    assert "options" not in kept["default"]["OPTIONS"]


@pytest.mark.django_db
def test_the_database_connection_runs_without_jit():
    from django.db import connection

    if connection.vendor != "postgresql":
        assert "options" not in connection.settings_dict.get("OPTIONS", {})
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_sqlite_opens_a_connection_per_request_with_nothing_to_check():
    found = databases(DATABASE_URL="sqlite:///" + str(ROOT / "unused.sqlite3"))
    assert found["default"]["CONN_MAX_AGE"] == 0
    assert found["default"]["CONN_HEALTH_CHECKS"] is False


def test_gunicorn_settings_default_to_the_measured_workers(monkeypatch):
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND", "GUNICORN_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["bind"] == "127.0.0.1:8100"
    assert (conf["workers"], conf["threads"]) == (2, 4)
    assert conf["preload_app"] is True
    assert conf["accesslog"] is None

    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (conf["workers"], conf["threads"]) == (3, 4)


def test_the_serve_script_is_valid_shell():
    result = subprocess.run(["sh", "-n", str(ROOT / "scripts" / "serve.sh")], capture_output=True)
    assert result.returncode == 0, result.stderr


# --- the policy header, built once -----------------------------------------------------------


def _respond(view_response, path="/orders/"):
    request = RequestFactory().get(path)
    middleware = CSPMiddleware(lambda request: view_response)
    return request, middleware(request)


def test_the_kept_policy_header_is_the_one_django_csp_builds():
    _request, response = _respond(HttpResponse("ok"))
    assert response["Content-Security-Policy"] == build_policy()
    assert "Content-Security-Policy-Report-Only" not in response


def test_a_view_that_changes_its_policy_still_gets_its_own_header():
    view = csp_update({"img-src": ["https://images.example.com"]})(lambda r: HttpResponse("ok"))
    _request, response = _respond(view(None))
    assert "https://images.example.com" in response["Content-Security-Policy"]
    _request, plain = _respond(HttpResponse("ok"))
    assert "https://images.example.com" not in plain["Content-Security-Policy"]


def test_an_exempt_view_gets_no_header_and_a_late_nonce_is_an_error():
    request, response = _respond(csp_exempt()(lambda r: HttpResponse("ok"))(None))
    assert "Content-Security-Policy" not in response
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_a_page_that_uses_a_nonce_gets_django_csps_own_header():
    def view(request):
        return HttpResponse(str(request.csp_nonce))

    request = RequestFactory().get("/orders/")
    middleware = CSPMiddleware(view)
    middleware.process_request(request)
    response = middleware.process_response(request, view(request))
    nonce = response.content.decode()
    assert response["Content-Security-Policy"] == build_policy(nonce=nonce)


def test_a_changed_policy_setting_is_picked_up(settings):
    _respond(HttpResponse("ok"))  # builds and keeps the header
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    _request, response = _respond(HttpResponse("ok"))
    assert response["Content-Security-Policy"] == "default-src 'none'"


# --- sessions read with a statement built once ---------------------------------------------


def test_a_saved_session_reads_back_and_the_dashboard_knows_who_signed_in(client, manager):
    store = SessionStore()
    store["merchant_id"] = 7
    store.create()
    again = SessionStore(session_key=store.session_key)
    assert again["merchant_id"] == 7
    assert again.session_key == store.session_key

    login(client, manager)
    response = client.get("/orders/")
    assert response.status_code == 200
    assert response.wsgi_request.user == manager


def test_an_expired_or_unknown_session_is_empty_and_gets_a_new_key(db):
    store = SessionStore()
    store["x"] = 1
    store.create()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    for key in (store.session_key, "no-such-session-key-1234567890", "short", None):
        found = SessionStore(session_key=key)
        assert found.load() == {}
        assert found.session_key is None


def test_a_signed_out_browser_with_an_old_cookie_is_sent_to_sign_in(client, manager):
    login(client, manager)
    Session.objects.all().delete()
    response = client.get("/orders/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
