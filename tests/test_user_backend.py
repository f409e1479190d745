"""The signed-in user is read by a statement built once (dashboard/auth.py), with what
Django's ModelBackend answers, and sessions signed in through ModelBackend stay signed in."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from dashboard.auth import MODEL_BACKEND, USER_BACKEND, UserBackend
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

FIELDS = [field.attname for field in get_user_model()._meta.concrete_fields]


def _values(user):
    return [getattr(user, name) for name in FIELDS]


def test_the_user_read_answers_what_model_backend_answers(manager, staff, viewer):
    ours, django = UserBackend(), ModelBackend()
    for user in (manager, staff):
        mine, theirs = ours.get_user(str(user.pk)), django.get_user(str(user.pk))
        assert type(mine) is type(theirs)
        assert _values(mine) == _values(theirs)
        assert mine._state.db == theirs._state.db and not mine._state.adding
    viewer.is_active = False
    viewer.save()
    assert django.get_user(str(viewer.pk)) is None
    assert ours.get_user(str(viewer.pk)) is None
    for missing in ("999999", 2**40, "x", None, ""):
        assert ours.get_user(missing) is None


def test_later_reads_run_the_built_statement(manager, staff, monkeypatch):
    backend = UserBackend()
    assert backend.get_user(manager.pk) is not None  # builds it, if no earlier test did
    built = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda *a, **k: built.append(1) or original(*a, **k))
    with CaptureQueriesContext(connection) as seen:
        assert backend.get_user(staff.pk).username == staff.username
        assert backend.get_user(manager.pk).username == manager.username
    assert built == []
    assert len(seen.captured_queries) == 2


def test_signing_in_names_our_backend(client, manager):
    response = client.post("/accounts/login/", {"username": manager.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == USER_BACKEND


def test_a_session_of_django_model_backend_stays_signed_in(client, manager):
    """Sessions signed in before the change name ModelBackend: they are read as ours, and a
    page read does not rewrite them."""
    client.force_login(manager, backend=MODEL_BACKEND)
    key = client.cookies["sessionid"].value
    stored = Session.objects.get(pk=key).get_decoded()
    assert stored[BACKEND_SESSION_KEY] == MODEL_BACKEND
    response = client.get("/orders/")
    assert response.status_code == 200
    assert response.wsgi_request.user == manager
    assert Session.objects.get(pk=key).get_decoded() == stored


def test_a_session_of_a_backend_no_longer_configured_is_signed_out(client, manager, settings):
    client.force_login(manager, backend=MODEL_BACKEND)
    # Only translated when ModelBackend is gone and ours is configured; a backend that is
    # configured nowhere signs the session out, as Django does.
    settings.AUTHENTICATION_BACKENDS = ["tests.auth_backends.TestClientAxesBackend"]
    response = client.get("/orders/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
def test_the_user_read_is_prepared_on_postgresql(manager):
    """After five runs on a connection the statement is prepared on the server (and the
    connection goes back to preparing nothing)."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    connection.close()  # a new session: nothing prepared by earlier tests
    backend = UserBackend()
    for _ in range(6):
        assert backend.get_user(manager.pk) == manager
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['SELECT "auth_user"."id"%'],
        )
        assert cursor.fetchone()[0] == 1
    assert connection.connection.prepare_threshold is None
