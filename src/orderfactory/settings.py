"""Django settings. All configuration comes from orderfactory.config (environment variables)."""

from __future__ import annotations

import dj_database_url

from orderfactory import config

DEBUG = False
SECRET_KEY = config.secret_key()
ALLOWED_HOSTS = [
    "*"
]  # the Host header is ignored: clients reach us as 127.0.0.1, org.localhost, auth.localhost
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "orderfactory.urls"
WSGI_APPLICATION = "orderfactory.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
APPEND_SLASH = False
# The largest request body, the API's own limit (jsonapi.body.MAX_BODY): beyond it Django refuses to read the
# body, which every view answers with a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_tasks",
    "django_tasks_db",
    "orderfactory.core",
    "orderfactory.auth",
    "orderfactory.tags",
    "orderfactory.addresses",
    "orderfactory.catalog",
    "orderfactory.adjustments",
    "orderfactory.customers",
    "orderfactory.inventory",
    "orderfactory.payments",
    "orderfactory.giftcards",
    "orderfactory.orders",
    "orderfactory.promotions",
    "orderfactory.taxes",
    "orderfactory.subscriptions",
    "orderfactory.factories",
    "orderfactory.events",
    "orderfactory.console",
]

# No middleware: the API view does negotiation, authentication and error rendering itself (orderfactory.api),
# which keeps the per-request cost low. The console's views wrap themselves in the sessions, authentication,
# messages and CSRF middleware they need (orderfactory.console.http).
MIDDLEWARE: list[str] = []

# The operator console (orderfactory.console): operators sign in with Django's auth; their session and CSRF
# cookies are sent to the console's paths only, never with API requests.
AUTH_USER_MODEL = "console.Operator"
AUTHENTICATION_BACKENDS = ["orderfactory.console.http.OperatorBackend"]
LOGIN_URL = "/console/login"
SESSION_COOKIE_NAME = "orderfactory_console"
SESSION_COOKIE_PATH = "/console/"
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_SECURE = config.public_url().startswith("https://")
CSRF_COOKIE_NAME = "orderfactory_console_csrf"
CSRF_COOKIE_PATH = "/console/"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_FAILURE_VIEW = "orderfactory.console.views.csrf_failure"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

_db = dj_database_url.parse(config.database_url(), conn_max_age=600, conn_health_checks=True)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend with the writers of a process queued on a lock (orderfactory.core.sqlite_engine).
    _db["ENGINE"] = "orderfactory.core.sqlite_engine"
    # WAL lets readers proceed during a write; the busy timeout makes writers queue instead of failing.
    # synchronous=FULL syncs the WAL at every commit, so a power cut loses no committed order or payment;
    # NORMAL (docs/decisions.md, "SQLite durability") is for those who accept losing the last commits.
    _synchronous = config.choice("ORDERFACTORY_SQLITE_SYNCHRONOUS", "full", ("full", "normal")).upper()
    _db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": f"PRAGMA journal_mode=WAL; PRAGMA synchronous={_synchronous}; PRAGMA busy_timeout=20000;",
    }
    _db["CONN_MAX_AGE"] = 0 if config.flag("ORDERFACTORY_SQLITE_NO_PERSIST", False) else 600
    _db["TEST"] = {"NAME": str(config.data_dir() / "test.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # Django's PostgreSQL backend with timestamps read in C, and health checks only of connections idle for a
    # second (orderfactory.core.postgresql_engine).
    _db["ENGINE"] = "orderfactory.core.postgresql_engine"
    if not config.flag("ORDERFACTORY_PG_CLIENT_BINDING", False):
        _db.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=2)
DATABASES = {"default": _db}

# Jobs live in the database, and a copy's job is written in the transaction that writes the copy
# (docs/decisions.md, "One task backend").
TASKS = {"default": {"BACKEND": "orderfactory.task_backend.DatabaseBackend", "QUEUES": ["default"]}}
if config.env("ORDERFACTORY_TASK_BACKEND", "database") != "database":
    raise config.ConfigError(
        "ORDERFACTORY_TASK_BACKEND: jobs run from the database only (the RQ backend was removed, see "
        "docs/decisions.md); unset it"
    )

_log_level = (
    config.env("ORDERFACTORY_LOG_LEVEL")
    and config.choice(
        "ORDERFACTORY_LOG_LEVEL", "INFO", ("debug", "info", "warning", "error", "critical")
    ).upper()
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": _log_level or "WARNING"},
    "loggers": {
        "orderfactory": {"level": _log_level or "INFO"},
        "django.request": {"level": "ERROR"},  # 4xx are answers, not incidents
    },
}

ORDERFACTORY = {
    "PUBLIC_URL": config.public_url(),
    "AUTH_DOMAIN": config.auth_domain(),
    "TOKEN_TTL_SECONDS": config.integer("ORDERFACTORY_TOKEN_TTL", 14400, minimum=1),
    "RATE_LIMITS_ENABLED": config.flag("ORDERFACTORY_RATE_LIMITS", True),
    "REDIS_URL": config.redis_url(),
    "RESPONSE_CACHE": config.flag("ORDERFACTORY_RESPONSE_CACHE", True),
    "CORS_ORIGINS": config.cors_origins(),
}
