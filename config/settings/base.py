"""Settings shared by every environment. Values come from the environment (django-environ)."""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

from config.settings.broker import filesystem_broker_options, redis_answers
from config.settings.storage import RUN_STORAGE_ALIAS, run_storage_backend

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("RISKGOV_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-local-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from static files, no CDN
    "csp",
    "django_celery_beat",
    "django_celery_results",
    "riskgov",  # the schema history from before the split into apps; owns no models
    "riskgov.core",
    "riskgov.markets",
    "chain",
    "insurance",
    "riskgov.governance",
    "riskgov.monitoring",
    "riskgov.reports",
    "riskgov.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "riskgov.core.middleware.RejectNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "riskgov.core.ratelimit.BodySizeLimitMiddleware",  # before CSRF, which reads the body
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "riskgov.core.ratelimit.RateLimitMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "riskgov.monitoring.context_processors.open_alerts_banner",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'riskgov.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["config.formats"]  # one date format (2026-12-02 16:25) for pages and the admin
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at every request when the folder is missing
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
# Coverage-run files (frozen inputs, chunk and merged results): local disk or an S3-compatible store.
RISKGOV_RUN_STORAGE_ALIAS = RUN_STORAGE_ALIAS
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    RUN_STORAGE_ALIAS: run_storage_backend(env),
}
# The Celery queue coverage chunks go to (empty: the default queue), for workers that only simulate.
INSURANCE_CHUNK_QUEUE = env.str("RISKGOV_COVERAGE_QUEUE", default="") or None

LOGIN_URL = "/admin/login/"
# Password sign-ins (admin, API, session) go through the rate limit and the lockout (riskgov.core.ratelimit).
AUTHENTICATION_BACKENDS = ["riskgov.core.ratelimit.LockoutModelBackend"]

# Security. Behind a TLS-terminating proxy, the proxy sets X-Forwarded-Proto so request.scheme (and the
# URI in SIWE messages) says https; only enable it when the proxy overwrites that header from clients.
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])  # e.g. https://riskgov.example
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) in every environment, so the tests see what production sends.
# Scripts and styles come from our static files only (Redoc's page alone relaxes styles: see config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Celery: Redis when REDIS_URL answers, otherwise the filesystem transport under var/.
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_ANSWERS = redis_answers(REDIS_URL)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Redis hands back a message nobody acknowledged after this many seconds: longer than a chunk's hard time limit
# (960 s) and the longest retry countdown (600 s), so only the messages of a lost worker come back (Redis's
# default is an hour). The workers' coverage watchdog re-sends a lost worker's chunks long before that.
BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=1200)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT}
if not CELERY_BROKER_URL:
    if REDIS_ANSWERS:
        CELERY_BROKER_URL = REDIS_URL
    else:
        CELERY_BROKER_URL = "filesystem://"
        CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # with acks_late, a worker holds only the tasks it is running
# A lost broker connection lets running chunks finish (they are recorded in the database, not on the broker).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat's heartbeat (riskgov.core.services.heartbeat), reported by /healthz?deep=1. The database scheduler
# copies this entry into its periodic tasks at start.
RISKGOV_HEARTBEAT_SECONDS = env.int("RISKGOV_HEARTBEAT_SECONDS", default=30)
CELERY_BEAT_SCHEDULE = {
    "Heartbeat": {"task": "core.heartbeat", "schedule": float(RISKGOV_HEARTBEAT_SECONDS)},
}

# The cache every web worker shares: rate-limit counters, render locks. Redis when it answers; otherwise files
# under var/ (shared by the gunicorn workers of one machine) so `make run` needs no Redis.
if REDIS_ANSWERS:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": "riskgov",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": "riskgov",
        }
    }

# Rate limits per scope (riskgov.core.ratelimit): "ip" counts per client address, "subject" per wallet
# address or username where the request names one. django-ratelimit rates: "20/m", "5/15m", "100/h".
RISKGOV_RATE_LIMITS: dict[str, dict[str, str | None]] = {
    "login": {"ip": env.str("RISKGOV_RATE_LOGIN", default="30/m")},
    "siwe_nonce": {"ip": env.str("RISKGOV_RATE_SIWE_NONCE", default="30/m"), "subject": "10/m"},
    "siwe_verify": {"ip": env.str("RISKGOV_RATE_SIWE_VERIFY", default="30/m"), "subject": "10/m"},
    "vote": {"ip": env.str("RISKGOV_RATE_VOTE", default="120/m"), "subject": "20/m"},
    "proposal_create": {"ip": env.str("RISKGOV_RATE_PROPOSAL", default="20/h"), "subject": "10/h"},
    "coverage_run_create": {"ip": env.str("RISKGOV_RATE_COVERAGE_RUN", default="30/h"), "subject": "20/h"},
    "recount": {"ip": env.str("RISKGOV_RATE_RECOUNT", default="10/m")},
    "impact_preview": {"ip": env.str("RISKGOV_RATE_IMPACT_PREVIEW", default="30/h"), "subject": "20/h"},
    "delegation_relay": {"ip": env.str("RISKGOV_RATE_DELEGATION_RELAY", default="30/h"), "subject": "10/h"},
    "delegate_statement": {"ip": env.str("RISKGOV_RATE_DELEGATE_STATEMENT", default="30/h"), "subject": "10/h"},
    "subscribe": {"ip": env.str("RISKGOV_RATE_SUBSCRIBE", default="20/h"), "subject": "5/h"},  # confirmation mails
}
# Failed password sign-ins for one username from one IP before that pair is locked out for the window.
RISKGOV_LOGIN_LOCKOUT = env.str("RISKGOV_LOGIN_LOCKOUT", default="5/15m")
# Behind a proxy: the META key holding the client address (e.g. HTTP_X_REAL_IP set by the proxy).
RATELIMIT_IP_META_KEY = env.str("RISKGOV_CLIENT_IP_META_KEY", default="") or None

# Uploads: bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (forms, JSON) are refused; files over
# FILE_UPLOAD_MAX_MEMORY_SIZE go to a temporary file instead of memory; imports over
# RISKGOV_IMPORT_MAX_BYTES are refused by Content-Length before the body is read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
RISKGOV_IMPORT_MAX_BYTES = env.int("RISKGOV_IMPORT_MAX_BYTES", default=100 * 1024 * 1024)
# Imports larger than this (bytes) run on the workers with progress; smaller ones run in the request.
RISKGOV_IMPORT_INLINE_MAX_BYTES = env.int("RISKGOV_IMPORT_INLINE_MAX_BYTES", default=1024 * 1024)

# The JSON API (see riskgov/core/api/__init__.py): session or token, never HTTP Basic.
REST_FRAMEWORK = {
    # an API view that writes declares who may (riskgov.core.permissions); one that declares nothing is read-only
    "DEFAULT_PERMISSION_CLASSES": ["riskgov.core.permissions.ReadOnlyUnlessDeclared"],
    "DEFAULT_AUTHENTICATION_CLASSES": [  # the first one's challenge makes an anonymous refusal a 401
        "riskgov.core.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "riskgov.core.api.schema.RiskGovAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "riskgov.core.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "riskgov.core.api.errors.api_exception_handler",
    # JSON with bounded nesting (a deep document is a 400, not a RecursionError), forms, uploads.
    "DEFAULT_PARSER_CLASSES": [
        "riskgov.core.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RiskGov API",
    "VERSION": "1.0.0",
    "DESCRIPTION": "Session or `Authorization: Token <key>` (create one at /api/token/); every refusal answers "
    '`{"error": {"code", "message", "field"}}`.',
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/(?:[a-z]+/)?api/",  # tags and operation ids from the resource: markets, alerts, runs…
    "ENUM_NAME_OVERRIDES": {
        "AlertKindEnum": "riskgov.monitoring.models.AlertKind",
        "ReportKindEnum": "riskgov.reports.models.ReportKind",
        "RunStatusEnum": "insurance.models.RunStatus",
        "DeliveryStatusEnum": "riskgov.core.models.outbox.OutboxStatus",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="riskgov@localhost")

# Domain settings.
RISKGOV_BASE_URL = env.str("RISKGOV_BASE_URL", default="http://127.0.0.1:8000")  # absolute links in e-mail and PDF
RISKGOV_SNAPSHOT_INTERVAL = timedelta(minutes=env.int("RISKGOV_SNAPSHOT_MINUTES", default=5))
# A market's mark price is flagged stale when its newest observation is older than this, and flat when it
# has not changed for this long (a feed that stopped moving).
RISKGOV_MARK_STALE_AFTER = timedelta(minutes=env.int("RISKGOV_MARK_STALE_MINUTES", default=120))
RISKGOV_MARK_FLAT_AFTER = timedelta(minutes=env.int("RISKGOV_MARK_FLAT_MINUTES", default=360))
RISKGOV_STEWARD_MIN_DELAY = timedelta(days=env.int("RISKGOV_STEWARD_MIN_DELAY_DAYS", default=3))
# Late-quorum protection: voting stays open this long after the vote that first reaches quorum (0 = off).
RISKGOV_GOVERNANCE_VOTE_EXTENSION_SECONDS = env.int("RISKGOV_GOVERNANCE_VOTE_EXTENSION_SECONDS", default=24 * 3600)
# Governance mode of this deployment: "offchain" (the app tallies signed ballots and its executor key applies the
# result) or "onchain" (an OpenZeppelin Governor + TimelockController own the registry; ballots are relayed).
RISKGOV_GOVERNANCE_MODE = env.str("RISKGOV_GOVERNANCE_MODE", default="offchain")
# Transaction links on governance pages, e.g. https://etherscan.io/tx/{hash}; empty shows hashes without links.
RISKGOV_BLOCK_EXPLORER_TX_URL = env.str("RISKGOV_BLOCK_EXPLORER_TX_URL", default="")
# Webhook URLs may point at loopback or private networks only when this is on (local use, tests).
RISKGOV_NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = env.bool("RISKGOV_NOTIFICATION_WEBHOOK_ALLOW_PRIVATE", default=False)
CHAIN_RPC_URL = env.str("CHAIN_RPC_URL", default="http://127.0.0.1:8545")
CHAIN_ID = env.int("CHAIN_ID", default=31337)
# Seconds per block of the chain: the Governor counts its voting delay and period in blocks (the on-chain demo's
# Anvil mines one every 2 s and sets 2).
CHAIN_SECONDS_PER_BLOCK = env.int("CHAIN_SECONDS_PER_BLOCK", default=12)
# Indexer: blocks per eth_getLogs range, and how far behind the head it stays (0 on a local Anvil).
CHAIN_INDEXER_BLOCK_RANGE = env.int("CHAIN_INDEXER_BLOCK_RANGE", default=2000)
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=0)
# Executor key: environment only, never the database; empty means Anvil's dev key in demo mode.
CHAIN_EXECUTOR_KEY = env.str("CHAIN_EXECUTOR_KEY", default="")
# Pays for relayed delegateBySig signatures; in demo mode on the dev chain Anvil's dev account 0 stands in.
CHAIN_RELAYER_KEY = env.str("CHAIN_RELAYER_KEY", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
# Sign-In with Ethereum: the longest sign-in (message expiry) a client may ask for, in seconds.
SIWE_MAX_EXPIRY_SECONDS = env.int("SIWE_MAX_EXPIRY_SECONDS", default=24 * 3600)
