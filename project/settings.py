"""Django settings for Markezy.

Every knob a deployment turns is an environment variable of CONTRACT §1. With
none set, the service runs on its embedded defaults: SQLite under var/, the
in-process channel layer, Celery tasks run asynchronously in-process, the
offline LLM provider, qdrant-client local mode and the file email backend.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import dj_database_url

from project.env import (  # noqa: F401 - VAR_DIR is read by management commands
    BASE_DIR,
    VAR_DIR,
    dev_secret,
    env_bool,
    env_int,
    env_list,
    env_str,
    generated_fernet_key,
    generated_secret_key,
)

VAR_DIR.mkdir(parents=True, exist_ok=True)

# "production" refuses development conveniences (generated secrets, '*' hosts,
# DEBUG); it is what the Docker image sets.
ENVIRONMENT = env_str("MARKEZY_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)
TESTING = env_bool("MARKEZY_TESTING", False)

SECRET_KEY = env_str("SECRET_KEY") or (
    None if PRODUCTION else dev_secret("secret_key", generated_secret_key)
)
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS") or (
    [] if PRODUCTION else [dev_secret("field_encryption_key", generated_fernet_key)]
)
BLIND_INDEX_KEY = env_str("BLIND_INDEX_KEY") or (
    None if PRODUCTION else dev_secret("blind_index_key", generated_secret_key)
)
if PRODUCTION and (not SECRET_KEY or not FIELD_ENCRYPTION_KEYS or not BLIND_INDEX_KEY):
    raise RuntimeError("SECRET_KEY, FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY must be set in production")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
if PRODUCTION and "*" in ALLOWED_HOSTS:
    # A wildcard lets anyone forge absolute URLs we sign (PDF links, ws_url).
    raise RuntimeError("ALLOWED_HOSTS='*' is refused in production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL")  # e.g. https://chat.example.com; else from the request

AUTH_USER_MODEL = "tenancy.User"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_scopes",
    "tenancy",
    "chat",
    "qualification",
    "strategy",
    "analytics",
    "integrations",
    "widget",
    "console",
    "project",
]

MIDDLEWARE = [
    "project.middleware.RequestIdMiddleware",
    "project.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "project.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    _db["CONN_HEALTH_CHECKS"] = True
    if _db["ENGINE"] == "django.db.backends.mysql":
        # Django's backend, pinging only connections that sat idle (project/db/mysql/base.py).
        _db["ENGINE"] = "project.db.mysql"
        _db.setdefault("OPTIONS", {}).update(
            {
                "charset": "utf8mb4",
                # group_concat_max_len: analytics ranks latencies with GROUP_CONCAT (MySQL's default of 1 KB
                # would cut a day's list short; 16 MB holds ~2 M values).
                "init_command": "SET sql_mode='STRICT_TRANS_TABLES', innodb_lock_wait_timeout=10, "
                "group_concat_max_len=16777216",
                "isolation_level": "read committed",
            }
        )
        _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
else:
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "markezy.sqlite3",
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DB_HEALTH_CHECK_IDLE_SECONDS = float(env_str("DB_HEALTH_CHECK_IDLE_SECONDS", "5"))
# Worker threads (each with its own connection) that run a dashboard request's
# independent aggregates at the same time (project/db/concurrent.py); 0 runs them in turn.
DB_CONCURRENT_QUERIES = env_int("DB_CONCURRENT_QUERIES", 2)
# The sockets' database work (project/db/aio.py): one thread runs it in order;
# spare threads (each with its own connection) take over the waiting calls
# while that thread's current call has run for DB_ASYNC_STUCK_MS. SQLite: no spares.
DB_ASYNC_SPARE_THREADS = env_int("DB_ASYNC_SPARE_THREADS", 2)
DB_ASYNC_STUCK_MS = env_int("DB_ASYNC_STUCK_MS", 200)
# Long-lived threads that run HTTP requests, each with its persistent
# connection (project/http_threads.py); concurrent requests beyond it queue.
# 0: Django's own thread per request (a new connection for each).
HTTP_THREADS = env_int("HTTP_THREADS", 8)

# --- Redis, channel layer, cache --------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    _layer_config: dict = {
        # redis-py 8 reads with a 5 s socket timeout by default, the same as
        # channels_redis's blocking receive: give reads room to block.
        # redis-py caps a pool at 100 connections and then raises: a burst of
        # sockets closing at once (group_discard each) went past it at 200.
        "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 5, "max_connections": 2000}],
        # Sized on purpose (STYLE.md): a process channel carries batched deltas
        # for every conversation a process watches, so it needs more room than
        # the default 100 before messages are dropped.
        "capacity": env_int("CHANNEL_CAPACITY", 5000),
        "expiry": 60,
        # Hubs renew their memberships every third of this (chat.hub): a dead
        # process stops receiving group messages within 15 minutes, not a day.
        "group_expiry": env_int("CHANNEL_GROUP_EXPIRY", 900),
    }
    if FIELD_ENCRYPTION_KEYS:
        # Frames carry personal data; they are encrypted while they sit in Redis.
        _layer_config["symmetric_encryption_keys"] = FIELD_ENCRYPTION_KEYS
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "project.channel_layer.HubRedisChannelLayer", "CONFIG": _layer_config}
    }
    CACHES = {
        "default": {
            # One connection pool per process, not one per request thread (project/cache.py).
            "BACKEND": "project.cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "mkz",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 5000}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
# Without a broker, tasks run asynchronously in a thread pool of this process
# (project.celery.EmbeddedDispatch): the development default needs no Redis.
CELERY_EMBEDDED = CELERY_BROKER_URL is None
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TIME_LIMIT", 300)
# Redis redelivers an unacknowledged task after the visibility timeout; every
# retry countdown and ETA in the code stays below it (project.celery.MAX_COUNTDOWN).
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TASK_DEFAULT_QUEUE = "realtime"
# Separate queues (realtime, strategy, crm: routes below) so a slow strategy
# or a CRM outage never delays short work; docker-stack.yml runs a worker per queue.
# On a lost broker connection, tasks in flight are given back instead of being
# finished without the chance to ack (they are idempotent and run again).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_ROUTES = {
    # Short: it only records that a strategy is wanted (first match wins).
    "strategy.tasks.strategy_queue": {"queue": "realtime"},
    "strategy.tasks.strategy_reconcile": {"queue": "realtime"},
    "strategy.tasks.*": {"queue": "strategy"},
    "integrations.tasks.*": {"queue": "crm"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "retention-daily": {"task": "qualification.tasks.run_retention", "schedule": 24 * 3600, "options": {"queue": "realtime"}},
    "strategy-reconcile": {"task": "strategy.tasks.strategy_reconcile",
                           "schedule": env_int("STRATEGY_RECONCILE_EVERY_SECONDS", 300)},
    "integrations-reconcile": {"task": "integrations.tasks.integrations_reconcile",
                               "schedule": env_int("INTEGRATIONS_RECONCILE_EVERY_SECONDS", 300)},
}
# A pending CRM sync or webhook delivery this long overdue (or a qualified lead no sync has seen) has lost its task.
INTEGRATIONS_RECONCILE_AFTER_SECONDS = env_int("INTEGRATIONS_RECONCILE_AFTER_SECONDS", 300)
# A qualified lead with no strategy, or a strategy still queued, this long after
# its last change is work a lost enqueue left undone; one generating this long, a lost worker's.
STRATEGY_RECONCILE_AFTER_SECONDS = env_int("STRATEGY_RECONCILE_AFTER_SECONDS", 300)
STRATEGY_STALLED_AFTER_SECONDS = env_int("STRATEGY_STALLED_AFTER_SECONDS", 1800)

# --- LLM, vector store, CRM, email -------------------------------------------
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
OPENAI_EMBEDDING_MODEL = env_str("OPENAI_EMBEDDING_MODEL", "text-embedding-3-small")
OPENAI_TIMEOUT = float(env_str("OPENAI_TIMEOUT", "30"))
OPENAI_FIRST_TOKEN_TIMEOUT = float(env_str("OPENAI_FIRST_TOKEN_TIMEOUT", "10"))
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 2)
# How long an idle upstream connection is kept for the next request (the SDK's default is 5 s).
OPENAI_KEEPALIVE_SECONDS = float(env_str("OPENAI_KEEPALIVE_SECONDS", "60"))

QDRANT_URL = env_str("QDRANT_URL")
QDRANT_API_KEY = env_str("QDRANT_API_KEY")
# Local mode (no QDRANT_URL) locks this directory: one process uses it at a time.
QDRANT_PATH = env_str("QDRANT_PATH", str(VAR_DIR / "qdrant"))
QDRANT_COLLECTION = env_str("QDRANT_COLLECTION", "markezy_knowledge")

# LLM prices per million tokens, for the usage analytics (CONTRACT §5.2);
# a JSON object {"model": {"prompt": x, "completion": y}} overrides them.
import json as _json  # noqa: E402

LLM_PRICES = {"gpt-4o-mini": {"prompt": 0.15, "completion": 0.60}, "gpt-4o": {"prompt": 2.50, "completion": 10.00},
              "default": {"prompt": 0.15, "completion": 0.60}, **_json.loads(env_str("LLM_PRICES", "{}") or "{}")}
LLM_PRICE_CURRENCY = env_str("LLM_PRICE_CURRENCY", "USD")

KNOWLEDGE_MAX_BYTES = env_int("KNOWLEDGE_MAX_BYTES", 10 * 1024 * 1024)

# The strategy PDF link a lead gets (widget and email) works for this long.
STRATEGY_PDF_LINK_TTL_DAYS = env_int("STRATEGY_PDF_LINK_TTL_DAYS", 30)

CLIENTIFY_BASE_URL = env_str("CLIENTIFY_BASE_URL", "https://api.clientify.net/v1")
# CRM sync (integrations/): per-call timeouts, retries of one lead's sync, the per-agency breaker.
CRM_HTTP_TIMEOUT = (float(env_str("CRM_CONNECT_TIMEOUT", "3.05")), float(env_str("CRM_READ_TIMEOUT", "10")))
CRM_SYNC_MAX_ATTEMPTS = env_int("CRM_SYNC_MAX_ATTEMPTS", 12)
CRM_RETRY_BASE_SECONDS = float(env_str("CRM_RETRY_BASE_SECONDS", "5"))
CRM_RETRY_CAP_SECONDS = float(env_str("CRM_RETRY_CAP_SECONDS", "900"))
CRM_BREAKER_THRESHOLD = env_int("CRM_BREAKER_THRESHOLD", 5)
CRM_BREAKER_COOLDOWN_SECONDS = float(env_str("CRM_BREAKER_COOLDOWN_SECONDS", "60"))
# Outbound webhooks (CONTRACT §7): retried with backoff for 24 h, then dead-lettered.
WEBHOOK_TIMEOUT_SECONDS = float(env_str("WEBHOOK_TIMEOUT_SECONDS", "10"))
WEBHOOK_RETRY_WINDOW_SECONDS = float(env_str("WEBHOOK_RETRY_WINDOW_SECONDS", str(24 * 3600)))
WEBHOOK_RETRY_BASE_SECONDS = float(env_str("WEBHOOK_RETRY_BASE_SECONDS", "30"))
WEBHOOK_RETRY_CAP_SECONDS = float(env_str("WEBHOOK_RETRY_CAP_SECONDS", str(6 * 3600)))

EMAIL_URL = env_str("EMAIL_URL")
if EMAIL_URL:
    _email = urlparse(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or 25
    EMAIL_HOST_USER = _email.username or ""
    EMAIL_HOST_PASSWORD = _email.password or ""
    EMAIL_USE_TLS = _email.scheme in ("smtp+tls", "submission")
    EMAIL_USE_SSL = _email.scheme == "smtps"
elif env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Markezy <no-reply@markezy.localhost>")

SIGNUP_ENABLED = env_bool("SIGNUP_ENABLED", True)
SIGNUP_PER_IP_PER_HOUR = env_int("SIGNUP_PER_IP_PER_HOUR", 5 if PRODUCTION else 100)
INVITATION_TTL = timedelta(days=env_int("INVITATION_TTL_DAYS", 7))
# Logos are shown in the widget on customers' sites and in strategy PDFs.
LOGO_MAX_BYTES = env_int("LOGO_MAX_BYTES", 1024 * 1024)
# Kept outside the database on purpose: replayed after restoring a backup (RGPD).
ERASURE_LOG_PATH = env_str("ERASURE_LOG_PATH", str(VAR_DIR / "erasures.jsonl"))
# A random marker in the assistant's system prompt; output containing it is never sent (issue 9).
PROMPT_CANARY = env_str("PROMPT_CANARY") or dev_secret("prompt_canary", lambda: "mkz-" + generated_secret_key()[:16])

# --- Auth --------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing is deliberately slow; tests create hundreds of users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

JWT_ALGORITHM = "HS256"
JWT_SIGNING_KEY = env_str("JWT_SIGNING_KEY") or SECRET_KEY
JWT_ACCESS_TTL = timedelta(minutes=15)
JWT_REFRESH_TTL = timedelta(days=7)
JWT_ISSUER = "markezy"

LOGIN_FAILURES_PER_MINUTE = env_int("LOGIN_FAILURES_PER_MINUTE", 5)
REST_RATE_PER_USER = env_str("REST_RATE_PER_USER", "600/min")
# Number of reverse proxies in front of the service whose X-Forwarded-For we
# trust; 0 means the socket peer is the client and the header is ignored.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- Chat limits (CONTRACT §3.1) ---------------------------------------------
CHAT_MAX_TEXT_CHARS = env_int("CHAT_MAX_TEXT_CHARS", 2000)
CHAT_MAX_FRAME_BYTES = env_int("CHAT_MAX_FRAME_BYTES", 16 * 1024)
CHAT_RATE_MESSAGES = env_int("CHAT_RATE_MESSAGES", 10)
CHAT_RATE_WINDOW_SECONDS = env_int("CHAT_RATE_WINDOW_SECONDS", 30)
CHAT_RATE_BURST = env_int("CHAT_RATE_BURST", 3)
CHAT_RATE_STRIKES_BEFORE_CLOSE = env_int("CHAT_RATE_STRIKES_BEFORE_CLOSE", 5)
CHAT_AUTH_TIMEOUT_SECONDS = float(env_str("CHAT_AUTH_TIMEOUT_SECONDS", "10"))
# How long a finished reply keeps trying to be stored while the database is away (a restart, a failover).
CHAT_TURN_STORE_RETRY_SECONDS = float(env_str("CHAT_TURN_STORE_RETRY_SECONDS", "120"))
VISITOR_TOKEN_TTL = timedelta(days=env_int("VISITOR_TOKEN_TTL_DAYS", 30))
# Deltas for sockets in other processes are batched per window (issue 13).
CHAT_FANOUT_WINDOW_MS = env_int("CHAT_FANOUT_WINDOW_MS", 25)
# A staff socket's deltas wait this long to be merged per turn (chat.hub.Outbox).
CHAT_STAFF_WINDOW_MS = env_int("CHAT_STAFF_WINDOW_MS", 40)
OFFLINE_TOKENS_PER_SECOND = float(env_str("OFFLINE_TOKENS_PER_SECOND", "30"))
WIDGET_SESSIONS_PER_IP_PER_HOUR = env_int("WIDGET_SESSIONS_PER_IP_PER_HOUR", 10 if PRODUCTION else 1000)

# --- DRF -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenancy.auth.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenancy.permissions.IsStaffMember"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "project.api.pagination.CursorPagination",
    "DEFAULT_THROTTLE_CLASSES": ["tenancy.throttles.StaffRateThrottle"],
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "project.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Markezy API",
    "DESCRIPTION": "Lead qualification for marketing agencies. Wire contract v1.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI served from our own static files: no CDN, and a strict CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- i18n, static ----------------------------------------------------------
LANGUAGE_CODE = "es"
LANGUAGES = [("es", "Español"), ("en", "English")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [d for d in (BASE_DIR / "console" / "dist",) if d.exists()]
# WhiteNoise serves static files from the web process (no separate file server
# needed); in development it reads them straight from the apps, no collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if PRODUCTION
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024

# --- Security headers ----------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^health/"]

# --- Logging: structlog, JSON lines with the request id ----------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "console")
from project.logging import configure_logging  # noqa: E402

LOGGING_CONFIG = None
configure_logging(level=LOG_LEVEL, fmt=LOG_FORMAT)
