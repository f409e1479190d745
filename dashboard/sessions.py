"""Django's database sessions, read with a statement written once (SESSION_ENGINE).

Every signed-in request reads its session first. Django's store builds that lookup through
the ORM each time (a queryset, its filter, its SQL): 0.34 ms of CPU on this machine against
0.05 ms for running the same statement as text, for one column of one row by its primary
key. Only the read changes: saving, expiry, key rotation and `clearsessions` are Django's,
and a missing, expired or malformed key still gives an empty session. On PostgreSQL the
statement is prepared on the server as well (orders/plans.py).

A session signed in through Django's ModelBackend is read as signed in through ours
(dashboard/auth.py, the same backend with the user read built once) when ModelBackend is no
longer configured, so changing the backend signs nobody out. Only the data read changes; the
row is rewritten with the new name the next time the session is saved anyway.
"""

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone

from dashboard.auth import MODEL_BACKEND, USER_BACKEND
from orders.plans import prepared


class SessionStore(DatabaseSessionStore):
    _select_sql = {}  # database alias -> the SELECT, built on first use

    @classmethod
    def _select(cls, connection):
        sql = cls._select_sql.get(connection.alias)
        if sql is None:
            meta = cls.get_model_class()._meta
            quote = connection.ops.quote_name
            column = {field.name: quote(field.column) for field in meta.concrete_fields}
            sql = (
                f"SELECT {column['session_data']} FROM {quote(meta.db_table)} "
                f"WHERE {column['session_key']} = %s AND {column['expire_date']} > %s"
            )
            cls._select_sql[connection.alias] = sql
        return sql

    def _get_session_from_db(self):
        # The key was validated when it was set; an invalid one is None and matches nothing.
        if self.session_key is None:
            return None
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with prepared(alias), connection.cursor() as cursor:
            cursor.execute(self._select(connection), [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        # load() reads only the data; the row's other fields are never used from here.
        return self.model(session_key=self.session_key, session_data=row[0])

    def load(self):
        data = super().load()
        if data.get(BACKEND_SESSION_KEY) == MODEL_BACKEND:
            backends = settings.AUTHENTICATION_BACKENDS
            if MODEL_BACKEND not in backends and USER_BACKEND in backends:
                data[BACKEND_SESSION_KEY] = USER_BACKEND
        return data
