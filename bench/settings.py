"""Settings for `make bench`: the production settings (DEBUG off, so no query log and no debug
templates), with what a local run needs: a throwaway secret, the test client's host, no HTTPS
redirect, and static files served from the source folders (no collectstatic)."""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# The events case's notification e-mails are kept in memory: there is no mail server here,
# and each refused connection was logged as a failed send with its traceback.
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

from dashboard.settings import *  # noqa: E402,F403

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
# No collectstatic here: look files up per request instead of listing STATIC_ROOT at start.
WHITENOISE_AUTOREFRESH = True
# Users are created once per database; hashing their passwords slowly buys nothing here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The events case enqueues its dispatch task here, as production does (bench/events.py).
TASKS["database"] = {"BACKEND": "django_tasks_db.DatabaseBackend"}  # noqa: F405
NOTIFY_IN_BACKGROUND = False
