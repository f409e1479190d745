"""The model backend, with the signed-in user read by a statement built once.

Every signed-in request loads its user by the id in the session. Django's ModelBackend
builds that read through the ORM each time (`User._default_manager.get(pk=...)`): a
queryset, its filter, the compiler, about 0.3 ms of CPU here for one row by its primary
key. `UserBackend` runs the same read as a Prepared statement (orders/prepared.py), built
once and prepared on PostgreSQL. Signing in, permissions and every other check stay
ModelBackend's.

Sessions signed in before this backend existed name ModelBackend; the session store reads
them as this backend's (dashboard/sessions.py), so nobody is signed out by the change.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from orders.prepared import Prepared

USER_BACKEND = "dashboard.auth.UserBackend"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

_USER = None


def _user_read():
    global _USER
    if _USER is None:
        User = get_user_model()
        _USER = Prepared(User, lambda pk: User._default_manager.filter(pk=pk), int, objects=True)
    return _USER


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None  # what ModelBackend answers for an id that is no user's
        users = _user_read()(pk)
        user = users[0] if users else None
        return user if user is not None and self.user_can_authenticate(user) else None
