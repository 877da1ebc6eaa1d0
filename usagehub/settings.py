"""UsageHub settings, read from the environment through django-environ.

With no environment at all the app runs on its embedded default: a SQLite file,
Celery tasks executed in-process, DEBUG on and a development secret. Setting
``DJANGO_DEBUG=false`` switches to production, which refuses to start without a
real ``SECRET_KEY`` and ``ALLOWED_HOSTS``. Every variable is listed in
``.env.example``.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)

_DEV_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production-8f3a1c"  # noqa: S105  # nosec B105


def _production_setting(name: str, value: object) -> None:
    """Fail at start-up, with the variable's name, when production lacks it."""
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set when DJANGO_DEBUG=false (see .env.example)."
        )


SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
if not DEBUG:
    _production_setting("SECRET_KEY", SECRET_KEY)
    _production_setting("ALLOWED_HOSTS", ALLOWED_HOSTS)
    if SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be a random value of at least 50 characters in production."
        )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "scoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "usagehub.security.ContentSecurityPolicyMiddleware",
]

if not DEBUG:
    # Production serves static files from the app process; runserver does it in DEBUG.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = env.str("ROOT_URLCONF", default="usagehub.urls")
WSGI_APPLICATION = "usagehub.wsgi.application"

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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Lets the ingestion path's statements be prepared (usagehub.db.prepared_rows); Django's
    # ORM binds on the client and never prepares. Off behind a pooler that cannot keep
    # prepared statements, and when connections are not kept (preparing costs a round trip).
    prepared = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
    kept = DATABASES["default"]["CONN_MAX_AGE"] != 0
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        5 if prepared and kept else None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Login throttling and API rate limits count in this cache: use Redis when several
# processes serve the app, so they share the counts.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# Proxy addresses whose X-Forwarded-For is believed (login throttling, shared-report log).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portfolio"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "usagehub" / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Security headers and cookies; production values make `check --deploy` clean.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["usagehub.api.FastJSONRenderer"],
    "EXCEPTION_HANDLER": "usagehub.api.exception_handler",
    "URL_FORMAT_OVERRIDE": None,  # ?format=csv belongs to the export, not to DRF
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS answers 405: the schema documents the API
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_THROTTLE_RATE", default="1200/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "UsageHub API",
    "DESCRIPTION": "Ingest usage data, sync the CRM, read health scores, exports and alerts. "
    "Authenticate with `Authorization: Api-Key <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RagEnum": "accounts.models.RAG",
        "UseCaseStatusEnum": "accounts.models.AccountUseCase.Status",
        "ObjectiveStatusEnum": "accounts.models.Objective.Status",
        "AlertStateEnum": "scoring.models.Alert.State",
    },
}

# Ingestion limits: one payload (after gzip inflation) and one NDJSON batch.
INGEST_MAX_PAYLOAD_BYTES = env.int("INGEST_MAX_PAYLOAD_BYTES", default=5 * 1024 * 1024)
INGEST_MAX_BATCH_BYTES = env.int("INGEST_MAX_BATCH_BYTES", default=256 * 1024 * 1024)
INGEST_MAX_BATCH_LINES = env.int("INGEST_MAX_BATCH_LINES", default=20_000)
INGEST_STORE_STREAMS = env.int("INGEST_STORE_STREAMS", default=2)

# Celery. No broker URL means the embedded default: tasks run in-process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"  # in-process: nothing to connect to
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A dead or hung broker must fail a publish in seconds, never hang a request.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    # Longer than any countdown a task is given, so nothing is redelivered twice.
    "visibility_timeout": 3600,
}
CELERY_TASK_PUBLISH_RETRY = False
# Seconds after which the sweep enqueues a marked account again (its worker may have died).
RECOMPUTE_REQUEUE_SECONDS = env.int("RECOMPUTE_REQUEUE_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    "recompute-sweep": {
        "task": "scoring.tasks.recompute_sweep",
        "schedule": env.float("RECOMPUTE_SWEEP_SECONDS", default=60.0),
    },
    "nightly-snapshot": {
        "task": "scoring.tasks.accounts_recompute_all",
        "schedule": crontab(minute=30, hour=2),
    },
    "purge-expired-sessions": {
        "task": "accounts.tasks.sessions_purge_expired",
        "schedule": crontab(minute=17, hour=3),
    },
}

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="usagehub@localhost")
ALERT_EMAILS = env.bool("ALERT_EMAILS", default=False)
# First webhook retry after this many seconds, doubling each time (capped at an hour).
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "usagehub.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", default="plain"),
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # one line per task is noise in-process; workers log their own task results
    "loggers": {"celery.app.trace": {"level": "WARNING"}},
}
