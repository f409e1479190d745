"""Settings for the merchant fulfillment dashboard.

Everything that differs between a laptop and production comes from the environment.
The defaults are the embedded ones (SQLite, tasks run inline) so `make run` needs nothing
installed; production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL.
"""

import datetime
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# A development key is only acceptable while DEBUG is on; production must provide one.
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "orders.admin_apps.StaffAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_fsm",  # its admin templates: the transition buttons and forms
    "django_filters",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "orders",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After a signed-in user's POST, keeps their next reads off the read replica (if any).
    "dashboard.replica.ReadYourWritesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # django-csp's, with the (fixed) policy header built once instead of on every response.
    "dashboard.security.CSPMiddleware",
    # Who changes orders from where: the client IP and path for the audit log.
    "dashboard.security.AuditOriginMiddleware",
    # Last, so it can swap a locked-out sign-in's answer for the lock-out page.
    "axes.middleware.AxesMiddleware",
]

# django-axes watches every sign-in (the dashboard's and the admin's) before the model backend.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "dashboard.auth.UserBackend",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.dashboard",
                "dashboard.context_processors.catalog",
            ],
        },
    },
]

# Persistent connections (DB_CONN_MAX_AGE seconds, PostgreSQL only): a request reuses its
# worker's connection instead of paying for a new one (a fork on the server, the sign-in,
# the settings round trips). With health checks, the first query of each request first
# makes sure the kept connection still works (one `SELECT 1`), so a database restart or a
# connection dropped by a firewall costs a reconnect, not a failed request.
DB_CONN_MAX_AGE = int(env("DB_CONN_MAX_AGE", "60"))
DB_CONN_HEALTH_CHECKS = env_bool("DB_CONN_HEALTH_CHECKS", True)
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=DB_CONN_MAX_AGE,
        conn_health_checks=DB_CONN_HEALTH_CHECKS,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dashboard read while the review task or the simulator writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False  # nothing kept, nothing to check
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters bound by the server: psycopg sends the values apart from the statement's
    # text (order page about 1 ms faster, the list 0.8 ms, at a million orders). Django
    # leaves psycopg's prepared statements off, and pages keep them off: each statement is
    # planned for its values. Review and bulk transitions prepare their repeated statements
    # (orders/plans.py). DB_SERVER_SIDE_BINDING=0 turns it off, e.g. behind a PgBouncer
    # older than 1.21 in transaction mode (no prepared statements).
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "server_side_binding", env_bool("DB_SERVER_SIDE_BINDING", True)
    )
    # No JIT compiling: it pays off for long reports, not for a page's statements. A search
    # whose estimated cost passed jit_above_cost spent 714 ms compiling a 40 ms statement at
    # ten million orders. DB_JIT=1 leaves the server's setting (behind a PgBouncer, which
    # refuses the "options" startup parameter, set `ALTER DATABASE ... SET jit = off`).
    if not env_bool("DB_JIT", False):
        DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")

# A read replica (docs/deployment.md, "Read replica"): with DATABASE_REPLICA_URL set, the
# order list (its rows, search and counts) and the CSV export read from it; everything else,
# every read inside a transaction and a user's reads just after they wrote stay on the
# primary. Without it the router answers nothing and Django uses `default` as always.
if env("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        env("DATABASE_REPLICA_URL"),
        conn_max_age=DB_CONN_MAX_AGE,
        conn_health_checks=DB_CONN_HEALTH_CHECKS,
    )
    DATABASES["replica"].setdefault("OPTIONS", {})
    DATABASES["replica"]["OPTIONS"].setdefault(
        "server_side_binding", env_bool("DB_SERVER_SIDE_BINDING", True)
    )
    if not env_bool("DB_JIT", False):
        DATABASES["replica"]["OPTIONS"].setdefault("options", "-c jit=off")
REPLICA_READS = "replica" in DATABASES
DATABASE_ROUTERS = ["dashboard.replica.ReplicaRouter"]
# After a user writes (any POST), their reads stay on the primary this long. Streaming
# replication on one site lags well under a second; 10 s also covers a replica that falls
# behind during a checkpoint or a big import, and costs the primary only that user's next
# few pages.
REPLICA_READ_YOUR_WRITES_SECONDS = int(env("REPLICA_READ_YOUR_WRITES_SECONDS", "10"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions in the database, as Django keeps them; read with a statement built once instead
# of an ORM query built on every request (dashboard/sessions.py).
SESSION_ENGINE = "dashboard.sessions"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# In development, serve static files from the source folders without collectstatic.
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG

# Background work: the review step. Inline on the embedded default; production runs the
# database backend and `manage.py db_worker`.
TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend"),
    }
}

# Order imports: limits of one CSV upload, and the size above which an upload on the
# immediate backend runs in a background thread instead of inside the request.
IMPORT_MAX_BYTES = int(env("IMPORT_MAX_BYTES", str(10 * 1024 * 1024)))
IMPORT_MAX_ROWS = int(env("IMPORT_MAX_ROWS", "20000"))
IMPORT_INLINE_MAX_ROWS = int(env("IMPORT_INLINE_MAX_ROWS", "500"))
# An import's review shares its chunks between this many processes on PostgreSQL, when it
# runs on a process's main thread outside a transaction (the task worker, `import_orders`):
# the review is mostly Python, and a second core halves it (orders/review.py).
REVIEW_PROCESSES = max(1, int(env("REVIEW_PROCESSES", "2")))

# Telling merchants (docs/webhooks.md): links in e-mails and webhook payloads start with
# SITE_URL; webhook endpoints must be https unless DEBUG is on, and never resolve to internal
# addresses (WEBHOOK_ALLOW_LOOPBACK=1 lets the demo and tests reach 127.0.0.1 only).
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")
WEBHOOK_REQUIRE_HTTPS = env_bool("WEBHOOK_REQUIRE_HTTPS", not DEBUG)
WEBHOOK_ALLOW_LOOPBACK = env_bool("WEBHOOK_ALLOW_LOOPBACK", False)
WEBHOOK_TIMEOUT_SECONDS = float(env("WEBHOOK_TIMEOUT_SECONDS", "5"))
# E-mail: the console under DEBUG, SMTP from the environment in production.
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Fulfillment <notifications@example.com>")

# Carrier webhook shared secret (HMAC-SHA256); empty refuses every webhook call.
TRACKING_WEBHOOK_SECRET = env("TRACKING_WEBHOOK_SECRET", "dev-webhook-secret" if DEBUG else "")
# Tracking aggregators' webhook secrets (docs/importing.md); empty refuses that source's calls.
EASYPOST_WEBHOOK_SECRET = env("EASYPOST_WEBHOOK_SECRET", "dev-easypost-secret" if DEBUG else "")
AFTERSHIP_WEBHOOK_SECRET = env("AFTERSHIP_WEBHOOK_SECRET", "dev-aftership-secret" if DEBUG else "")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list binds every subdomain for a long time: that is
        # the operator's call (SECURE_HSTS_PRELOAD=1), not a default, so don't warn about it.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# The header the TLS-terminating proxy sets, as "Header-Name: value" (empty: no proxy, trust
# only the connection itself). Only safe when that proxy overwrites the header on every
# request; otherwise a client could claim HTTPS.
_proxy_ssl = env("SECURE_PROXY_SSL_HEADER", "" if DEBUG else "X-Forwarded-Proto: https")
if _proxy_ssl:
    _name, _, _value = _proxy_ssl.partition(":")
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _name.strip().upper().replace("-", "_"), _value.strip())
# How many reverse proxies append to X-Forwarded-For in front of the app (0: use the
# connection's address). The audit log and the sign-in throttle read the client IP this way.
TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", "0"))

# Content-Security-Policy (django-csp): only our own files, no inline code, no eval, no
# framing. htmx is configured in base.html not to inject its indicator style or evaluate code.
# Enforced in development too, so the browser tests would catch a violation;
# CSP_REPORT_ONLY=1 only reports (to the browser console) while trying something out.
_csp = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp
else:
    CONTENT_SECURITY_POLICY = _csp

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username
# from one IP, that pair is locked out for the cool-off; a correct sign-in resets the count.
# Counting the pair (not the IP alone) keeps one office's typo from locking out colleagues.
AXES_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(env("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts during a lock-out do not extend it: the page promises a fixed wait.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "dashboard.security.locked_out"
AXES_CLIENT_IP_CALLABLE = "dashboard.security.client_ip"
AXES_VERBOSE = False
# Who a locked-out user should ask (shown on the lock-out page).
SUPPORT_CONTACT = env("SUPPORT_CONTACT", "support@example.com")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Webhook attempts are logged as DeliveryAttempt rows; one line each is noise.
        "httpx": {"level": "WARNING"},
        # One line per task run (several a second under `make run`); failures still show.
        "django_tasks": {"level": "WARNING"},
        # One line per attempted change to orders (also stored as AuditEntry rows).
        "orders.audit": {"level": "INFO"},
    },
}
