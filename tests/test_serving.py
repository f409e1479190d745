"""`make serve`: production settings keep PostgreSQL connections between requests and check
them first; the gunicorn settings and the serve script are what the docs say."""

import json
import runpy
import subprocess
from pathlib import Path

from .test_security_settings import run_django

ROOT = Path(__file__).resolve().parent.parent
SHOW_DATABASES = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({alias: {k: db[k] for k in ("ENGINE", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
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


def test_sqlite_opens_a_connection_per_request_with_nothing_to_check():
    found = databases(DATABASE_URL="sqlite:///" + str(ROOT / "unused.sqlite3"))
    assert found["default"]["CONN_MAX_AGE"] == 0
    assert found["default"]["CONN_HEALTH_CHECKS"] is False


def test_gunicorn_settings_default_to_the_measured_workers(monkeypatch):
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND", "GUNICORN_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["bind"] == "127.0.0.1:8100"
    assert (conf["workers"], conf["threads"]) == (4, 1)
    assert conf["preload_app"] is True
    assert conf["accesslog"] is None

    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (conf["workers"], conf["threads"]) == (3, 4)


def test_the_serve_script_is_valid_shell():
    result = subprocess.run(["sh", "-n", str(ROOT / "scripts" / "serve.sh")], capture_output=True)
    assert result.returncode == 0, result.stderr
