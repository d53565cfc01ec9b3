"""The one settings module. Everything comes from the environment, with embedded defaults.

With no environment at all the project runs on SQLite under one data directory, Celery tasks run
in-process, and media and index files live under that directory. `DATABASE_URL` and
`CELERY_BROKER_URL` switch to PostgreSQL and real workers. README.md lists every variable.
"""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import queues

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("CONTENTID_DATA_DIR") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# "development" (the default: the demo and the tests) or "production".
ENVIRONMENT = os.environ.get("CONTENTID_ENV", "development").strip().lower()
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured(f"CONTENTID_ENV must be 'development' or 'production', not {ENVIRONMENT!r}")
PRODUCTION = ENVIRONMENT == "production"
DEBUG = _env_bool("DJANGO_DEBUG", default=not PRODUCTION)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when CONTENTID_ENV=production")
    # Development: one random key per data directory, so sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", [])
if PRODUCTION:
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = _env_bool("CSRF_COOKIE_SECURE", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "catalog",
    "fingerprint",
    "rights",
    "generation_audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "rights.web.access.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'contentid.sqlite3'}",
        conn_max_age=_env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, in-process tasks, the demo) share one file: wait for locks.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The web UI's own files (htmx, CSS) are served by the project: WhiteNoise in production, runserver in debug.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the apps' static/ folders: no collectstatic step to forget
# With the finders on, an empty STATIC_ROOT (collectstatic never run) is normal, not worth a warning.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("CONTENTID_MEDIA_DIR") or DATA_DIR / "media")

# Audio limits: anything larger or longer is refused before it is decoded in full.
AUDIO_MAX_BYTES = _env_int("CONTENTID_AUDIO_MAX_BYTES", 512 * 1024 * 1024)
AUDIO_MAX_DURATION_S = _env_int("CONTENTID_AUDIO_MAX_DURATION_S", 2 * 60 * 60)
# Files in one multipart submission to the API (Django's own per-request file limit follows it).
CONTENTID_MAX_BATCH_FILES = _env_int("CONTENTID_MAX_BATCH_FILES", 100)
DATA_UPLOAD_MAX_NUMBER_FILES = CONTENTID_MAX_BATCH_FILES

# The landmark index lives on disk under the data directory.
FINGERPRINT_INDEX_DIR = Path(os.environ.get("CONTENTID_INDEX_DIR") or DATA_DIR / "index")
# Segment embeddings beside the landmarks (when trained weights ship); "0" runs on landmarks alone.
FINGERPRINT_EMBEDDINGS = os.environ.get("CONTENTID_EMBEDDINGS", "1") != "0"
# Every upload is checked for AI provenance (generation_audit); "0" turns the automatic check off.
PROVENANCE_ON_UPLOAD = os.environ.get("CONTENTID_PROVENANCE_ON_UPLOAD", "1") != "0"

# Celery: with no broker the tasks run in-process (eagerly), so the demo needs no server.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# A message a worker took but never acknowledged (the worker was killed) goes back to the queue
# after this many seconds (Redis transport). Tasks are idempotent, so an early redelivery is safe.
# The socket timeouts keep an API request from hanging on a broker that vanished without closing
# the connection: the hand-off fails fast and the scan waits in the outbox instead.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _env_int("CELERY_VISIBILITY_TIMEOUT_S", 3600),
    "unacked_restore_interval": _env_int("CELERY_UNACKED_RESTORE_INTERVAL_S", 10),
    "unacked_restore_throttle": _env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10),
    "socket_connect_timeout": 3,
    "socket_timeout": 15,
}
# Queues (config/queues.py): ingest, scans, gpu, rights, and the default; start workers as the README shows.
CELERY_QUEUE_PREFIX = os.environ.get("CELERY_QUEUE_PREFIX", "")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_DEFAULT_QUEUE") or queues.queue_names(CELERY_QUEUE_PREFIX)["default"]
CELERY_TASK_ROUTES = queues.task_routes(CELERY_QUEUE_PREFIX)
# Scans: a run that has not finished after SCAN_DEADLINE_S is presumed dead (its worker stopped)
# and is queued again, up to SCAN_MAX_ATTEMPTS runs; then the scan fails, saying why. A scan
# handed to the broker but not started after SCAN_QUEUED_DEADLINE_S is handed over again.
SCAN_DEADLINE_S = _env_int("CONTENTID_SCAN_DEADLINE_S", 1800)
SCAN_QUEUED_DEADLINE_S = _env_int("CONTENTID_SCAN_QUEUED_DEADLINE_S", 6 * 3600)
SCAN_MAX_ATTEMPTS = _env_int("CONTENTID_SCAN_MAX_ATTEMPTS", 3)
# `celery -A config beat`: claim any match whose claim task was lost (a worker died mid-task).
CELERY_BEAT_SCHEDULE = {
    # The outbox relay and the stuck-scan recovery (fingerprint.intake).
    "sweep-scans": {"task": "fingerprint.tasks.sweep_scans", "schedule": 30.0},
    # Uploads whose provenance hand-off was lost (generation_audit).
    "sweep-provenance": {"task": "generation_audit.tasks.sweep_provenance", "schedule": 3600.0},
    "claim-unclaimed-matches": {"task": "rights.tasks.claim_unclaimed_matches", "schedule": 600.0},
    # Claim timers (review expiry, dispute and appeal deadlines): checked hourly.
    "enforce-claim-timers": {"task": "rights.tasks.enforce_claim_timers", "schedule": 3600.0},
}
CELERY_BEAT_SCHEDULE["retry-webhooks"] = {"task": "fingerprint.tasks.retry_due_webhooks", "schedule": 30.0}

# Rights engine. Timers in days (DOMAIN.md defaults); each can be overridden from the environment.
RIGHTS_TIMERS = {
    "potential_claim_days": _env_int("RIGHTS_POTENTIAL_CLAIM_DAYS", 30),
    "dispute_answer_days": _env_int("RIGHTS_DISPUTE_ANSWER_DAYS", 30),
    "appeal_answer_days": _env_int("RIGHTS_APPEAL_ANSWER_DAYS", 7),
    "appeal_window_days": _env_int("RIGHTS_APPEAL_WINDOW_DAYS", 30),
    "reference_overlap_days": _env_int("RIGHTS_REFERENCE_OVERLAP_DAYS", 30),
}
# Seconds of one upload span matching two references before they are flagged as overlapping.
RIGHTS_REFERENCE_OVERLAP_MIN_S = float(os.environ.get("RIGHTS_REFERENCE_OVERLAP_MIN_S", "3.0"))
# Dotted path to f(match) -> review reasons from AI-provenance findings (empty: none).
RIGHTS_PROVENANCE_HOOK = os.environ.get("RIGHTS_PROVENANCE_HOOK", "generation_audit.review_hook.review_reasons")

REST_FRAMEWORK = {
    # Platforms send their API key (fingerprint.authentication); sessions serve the admin and browsable API.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "fingerprint.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Scans, claims and deliveries page by cursor (fingerprint.pagination); other lists by offset.
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "fingerprint.api_errors.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Per platform (fingerprint.throttling): uploads for POST /scans, reads for every other request.
    "DEFAULT_THROTTLE_CLASSES": ["fingerprint.throttling.ReadsThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "uploads": os.environ.get("CONTENTID_THROTTLE_UPLOADS") or "600/min",
        "reads": os.environ.get("CONTENTID_THROTTLE_READS") or "1200/min",
    },
    # Every error as {"code", "detail"}; Django's refusals of a body as 400/413, never an HTML page.
    "EXCEPTION_HANDLER": "fingerprint.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Content ID API",
    "DESCRIPTION": (
        "Catalogue, identification and rights for record labels. Platforms authenticate with their API key "
        "(`Authorization: Bearer <key>`) and see only their own scans, claims and webhooks. Errors are "
        '`{"code": ..., "detail": ...}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Multipart uploads and read-only fields need separate request and response components.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ScanStatusEnum": "fingerprint.models.Scan.Status",
        "ClaimStatusEnum": "rights.models.Claim.Status",
        "WebhookDeliveryStatusEnum": "fingerprint.models.WebhookDelivery.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "fingerprint.api_errors.add_error_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Webhooks (fingerprint.webhooks): each POST times out after WEBHOOK_TIMEOUT_S; a failed attempt is
# retried after each of WEBHOOK_RETRY_DELAYS_S in turn (seconds, comma-separated in the environment:
# 30 s, 2 min, 10 min, 1 h, 6 h, 24 h), then the delivery is failed. Targets on private addresses
# are refused unless their host:port is in FETCH_ALLOWED_HOSTS.
WEBHOOK_TIMEOUT_S = float(os.environ.get("WEBHOOK_TIMEOUT_S", "10"))
WEBHOOK_RETRY_DELAYS_S = tuple(
    float(delay) for delay in _env_list("WEBHOOK_RETRY_DELAYS_S", ["30", "120", "600", "3600", "21600", "86400"])
)

# Fetching audio from the web (fingerprint.fetching: crawled sources and URL submissions).
# The SSRF guard refuses hosts that resolve to private, loopback, link-local or other non-public
# addresses; FETCH_ALLOWED_HOSTS ("host" or "host:port", comma-separated in the environment) lets
# named hosts through anyway, e.g. an internal mirror. FETCH_TIMEOUT_S bounds the connection and
# each read (s). Requests to one host are at least FETCH_HOST_MIN_INTERVAL_S apart: the spacing is
# kept in the Django cache, so it holds across processes only when CACHES is a shared cache.
FETCH_ALLOWED_HOSTS = _env_list("CONTENTID_FETCH_ALLOWED_HOSTS", [])
FETCH_TIMEOUT_S = float(os.environ.get("CONTENTID_FETCH_TIMEOUT_S") or 30)
FETCH_HOST_MIN_INTERVAL_S = float(os.environ.get("CONTENTID_FETCH_HOST_MIN_INTERVAL_S") or 1.0)
FETCH_MAX_REDIRECTS = _env_int("CONTENTID_FETCH_MAX_REDIRECTS", 5)
FETCH_USER_AGENT = os.environ.get("CONTENTID_FETCH_USER_AGENT") or "ContentID-Crawler/1.0 (+https://example.org/bot)"
# Sources whose next crawl is due are queued every 5 minutes (fingerprint.sources).
CELERY_BEAT_SCHEDULE["crawl-due-sources"] = {"task": "fingerprint.tasks.crawl_due_sources", "schedule": 300.0}

# The cache holds the API throttle counters and the crawler's per-host schedule. In-process by
# default; set CONTENTID_CACHE_URL (e.g. redis://127.0.0.1:6379/1) so that every web process and
# worker shares them, as production must.
if os.environ.get("CONTENTID_CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["CONTENTID_CACHE_URL"],
        }
    }
