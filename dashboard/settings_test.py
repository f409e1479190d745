"""Test settings: the real settings, read with test-friendly environment defaults."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("TRACKING_WEBHOOK_SECRET", "test-webhook-secret")
os.environ.setdefault("EASYPOST_WEBHOOK_SECRET", "test-easypost-secret")
os.environ.setdefault("AFTERSHIP_WEBHOOK_SECRET", "test-aftership-secret")

from .settings import *  # noqa: E402,F403

# Hashing passwords properly is slow on purpose; tests only need it to be correct.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Tests never run collectstatic: serve static files straight from the finders.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# django-axes stays on in tests; only the test client's request-less login() gets an address.
AUTHENTICATION_BACKENDS = [
    "tests.auth_backends.TestClientAxesBackend",
    "dashboard.auth.UserBackend",
]
# Tests run the notification dispatcher and webhook sender themselves (no background threads).
NOTIFY_IN_BACKGROUND = False
# Test receivers listen on 127.0.0.1; every other internal address stays refused.
WEBHOOK_ALLOW_LOOPBACK = True
# A `replica` alias that is the default test database under another name (a test mirror), so
# tests/test_replica_routing.py checks the routing with nothing else running. The rest of the
# suite reads from default as without a replica; the routing tests turn REPLICA_READS on.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
REPLICA_READS = False
