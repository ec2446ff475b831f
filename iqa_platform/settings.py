"""Django settings: everything from environment variables, with defaults that run on a laptop."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("IQA_VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
# De-identification keys pseudonyms (patient_key, new UIDs) with this secret: changing it
# breaks the link between re-imports of the same patient, so it is separate from SECRET_KEY and
# has no fallback in production (a rotated SECRET_KEY must not change every pseudonym):
# iqa_platform/checks.py fails `check` and the web server's start without it.
DEID_SECRET = env_str("DEID_SECRET", SECRET_KEY if DEBUG else "")
# The reading page's measurement hook (window.__iqa: page state and viewer) for the browser tests
# and bench/viewer.py. Never on by default: in production a page script must not expose it.
IQA_TEST_HOOKS = env_bool("IQA_TEST_HOOKS", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "imaging",
    "axes",
    "ratings",
    "inference",
    "frontend",
    # Demo data for `make run` and the tests (seed_demo, demo_logins): development data,
    # not the product, kept out of the runtime apps.
    "demo",
]

# Who may see which dataset, image and file is decided by the reader studies (ratings);
# imaging asks this policy and so never imports ratings.
IMAGING_ACCESS_POLICY = "ratings.permissions.ImagingAccess"
# What a rater of an assisted-reading study (show_model_output) sees beside each image: called
# by the reading payload (ratings never imports inference) with the study and its items.
READING_MODEL_OUTPUT = "inference.assist.model_output"
# Called as f(dataset_id, image_ids) once an import has committed new images: real-time QC
# scores them with the active model versions of the dataset's studies. "" calls nothing.
IMAGING_AFTER_INGEST = "inference.realtime.images_ingested"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "iqa_platform.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a lockout into the login page's answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "iqa_platform.urls"
WSGI_APPLICATION = "iqa_platform.wsgi.application"
ASGI_APPLICATION = "iqa_platform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        # A kept connection is checked before a request uses it: after a database restart,
        # the first request of each web thread reconnects instead of failing with a 503
        # (tests/faults/test_database_restarted.py).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        # Several processes (web, worker) share the embedded database: wait for locks (s).
        timeout=20,
        # Write-ahead log: readers and the one writer no longer block each other (a page view
        # or an export reading while a rater submits). Set on every connection: a no-op once
        # the file is in WAL mode, which it then keeps.
        init_command="PRAGMA journal_mode=WAL",
        # A transaction takes the write lock when it begins. Deferred, two transactions that
        # read and then write could both hold a read lock and neither get the write lock
        # (SQLite fails one at once, without waiting); select_for_update does nothing here.
        transaction_mode="IMMEDIATE",
    )
    # A file, not memory, so that a worker process in the tests can share the test database;
    # one per test process, so that parallel test runs do not collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id first (Django's recommendation: memory-hard, and here 0.18 s per login against
# PBKDF2's 0.41 s, which raters wait for); older hashes still verify and are upgraded on login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login throttling (django-axes): every password check goes through authenticate(), so the
# login page and the admin's login (where API tokens are made) are both covered. A lockout is
# per account *and* address: 10 wrong passwords for one user from one address lock that pair
# for 15 minutes (a typo-prone colleague behind the same hospital NAT is not locked out), a
# right one before that resets the count. Staff unlock in the admin ("Access attempts":
# delete the user's row) or with `manage.py axes_reset_username USER`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "frontend.views.locked_out"
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
NODE_MODULES = BASE_DIR / "node_modules"
# The viewer's libraries come from npm (package-lock.json), served under static/vendor/.
STATICFILES_DIRS = [
    ("vendor/cornerstone-core", NODE_MODULES / "cornerstone-core" / "dist"),
    # The loader's dynamic-import build: a small main script, its web worker as a file of its
    # own, and each codec fetched only when a file needs it (an uncompressed radiograph needs
    # none). The all-in-one bundle is 1.4 MB to parse before the first image can show.
    (
        "vendor/cornerstone-wado-image-loader",
        NODE_MODULES / "cornerstone-wado-image-loader" / "dist" / "dynamic-import",
    ),
    ("vendor/dicom-parser", NODE_MODULES / "dicom-parser" / "dist"),
    ("vendor/cornerstone-tools", NODE_MODULES / "cornerstone-tools" / "dist"),
    ("vendor/cornerstone-math", NODE_MODULES / "cornerstone-math" / "dist"),
    ("vendor/hammerjs", NODE_MODULES / "hammerjs"),
]
STATICFILES_DIRS = [entry for entry in STATICFILES_DIRS if entry[1].is_dir()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # never served directly: DICOM goes through the permission-checked WADO view
UPLOAD_ROOT = Path(env_str("UPLOAD_ROOT", str(VAR_DIR / "uploads")))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
IQA_MAX_UPLOAD_BYTES = env_int("IQA_MAX_UPLOAD_BYTES", 2 * 1024**3)
IQA_INGEST_WORKERS = env_int("IQA_INGEST_WORKERS", os.cpu_count() or 1)
# fsync each de-identified file before its row is committed: a power cut then never leaves a
# row pointing at a half-written file. Off trades that guarantee for import speed.
IQA_INGEST_FSYNC = env_bool("IQA_INGEST_FSYNC", True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "iqa_platform.api_auth.SessionAuthentication",  # CSRF refusals coded `csrf_failed`
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "iqa_platform.api_parsers.FiniteJSONParser",  # no inf / NaN, no RecursionError
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "iqa_platform.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IQA platform API",
    "DESCRIPTION": "Expert rating of medical image quality with a model in the loop.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files, not a CDN: hospital networks are often closed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two models have a "kind" field; name their enums instead of numbering them.
    "ENUM_NAME_OVERRIDES": {
        "DimensionKindEnum": "ratings.models.studies.DimensionKind",
        "ExportKindEnum": "ratings.models.exports.ExportKind",
        "JobStatusEnum": "iqa_platform.jobs.JobStatus",
        "AssessmentStatusEnum": "ratings.models.assessments.AssessmentStatus",
    },
}

# Celery. The embedded default uses kombu's filesystem transport: no server needed, and a
# real worker process still consumes it (`make run` starts one).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "control_folder": str(_queue_dir / "control"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
        # How often an idle worker looks for new messages (kombu's default is 1 s): each hop
        # of real-time QC (upload -> ingest -> inference) waits up to this long.
        "polling_interval": env_int("IQA_BROKER_POLL_MS", 100) / 1000,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
# Task state lives in our own tables (the job rows), so no result backend is needed.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Named queues, so that a host can take only some kinds of work (a GPU host: training and
# inference); every task is routed by its name (iqa_platform/celery.py). The prefix lets
# several deployments (or test runs) share one broker.
CELERY_QUEUE_PREFIX = env_str("CELERY_QUEUE_PREFIX", "")
CELERY_TASK_DEFAULT_QUEUE = CELERY_QUEUE_PREFIX + "default"
# A running job whose worker has not beaten its heartbeat for this long is taken to be lost.
IQA_JOB_STALE_AFTER_S = env_int("IQA_JOB_STALE_AFTER_S", 600)
# A pending job no worker has claimed for this long lost its message (or could not start):
# it is queued once more, then failed with the reason (iqa_platform/jobs.py, reap_lost).
IQA_JOB_LOST_AFTER_S = env_int("IQA_JOB_LOST_AFTER_S", 900)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # pydicom logs every bad file it meets; ingest reports each one to the user instead.
    "loggers": {"pydicom": {"level": "CRITICAL", "propagate": False}},
}

# Production hardening: on whenever DEBUG is off, so `check --deploy` is clean.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container health check speaks plain HTTP
    # Off only for a production-like server on plain-HTTP localhost (bench/viewer.py).
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
