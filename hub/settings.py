"""Settings for the hub. Everything is read from the environment; a bad value stops the start.

The embedded default (no variables set) is SQLite and Celery in eager mode, so a first run
and the test suite need no services. Production sets DATABASE_URL, CELERY_BROKER_URL,
HUB_SECRET_KEY and HUB_ALLOWED_HOSTS.
"""

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.getenv("HUB_VAR_DIR", BASE_DIR / "var"))


def envbool(name, default):
    value = os.getenv(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def envint(name, default, minimum=None):
    value = os.getenv(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def envlist(name, default):
    value = os.getenv(name)
    if value is None:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


def envchoice(name, default, choices):
    value = os.getenv(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _secret_key(debug):
    key = os.getenv("HUB_SECRET_KEY")
    if key:
        return key
    if not debug:
        raise ImproperlyConfigured("HUB_SECRET_KEY must be set when HUB_DEBUG is off")
    # Development only: a random key kept outside the repository, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


DEBUG = envbool("HUB_DEBUG", False)
SECRET_KEY = _secret_key(DEBUG)
ALLOWED_HOSTS = envlist("HUB_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("HUB_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "core",
    "events",
    "changes",
    "mdm",
    "xref",
    "validation",
    "quarantine",
    "edi",
    "imports",
    "reconcile",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "hub.middleware.RequestSizeLimitMiddleware",
    "hub.middleware.UnstorableTextMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "core.history.ChangeSourceMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"

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
                "hub.context_processors.admin_site",
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'hub.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(
            os.getenv("DATABASE_URL") or _default_db,
            conn_max_age=envint("HUB_DB_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The queue's covering index (quarantine.QuarantineCase) INCLUDEs columns for PostgreSQL's
    # index-only scans; SQLite builds it on its key columns alone, which is all the embedded
    # default needs, so its warning about the ignored columns is noise there.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    # A stalled database server must not hold requests: opening a connection gives up after
    # HUB_DB_CONNECT_TIMEOUT seconds (libpq's connect_timeout, the whole start-up; at least
    # 2), and the check of a kept connection before a request uses it after
    # HUB_DB_CHECK_TIMEOUT (core.postgresql). Then the request is a 503 with Retry-After.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = envint(
        "HUB_DB_CONNECT_TIMEOUT", 5, minimum=1
    )
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "core.postgresql"
HUB_DB_CHECK_TIMEOUT = envint("HUB_DB_CHECK_TIMEOUT", 2, minimum=1)
# The longest a statement of a web request may run, in seconds (PostgreSQL's
# statement_timeout, set by hub.wsgi for the web server only: workers, imports, migrations
# and benchmarks run long statements by design); 0: no limit. Past it, the request is a 503.
HUB_DB_STATEMENT_TIMEOUT = envint("HUB_DB_STATEMENT_TIMEOUT", 30, minimum=0)
# Prepared statements for the hot path (core.db); off for poolers that cannot keep them.
# Django's own queries bind on the client and are never prepared, whatever this says.
HUB_DB_PREPARE = envbool("HUB_DB_PREPARE", True)
if DATABASES["default"]["ENGINE"] == "core.postgresql" and HUB_DB_PREPARE:
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 1

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.getenv("HUB_TIME_ZONE", "UTC")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"HUB_TIME_ZONE is not a known time zone: {TIME_ZONE!r}") from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve app static files (admin, Swagger UI) straight from the packages: no collectstatic step.
WHITENOISE_USE_FINDERS = True
# The project's own (hub/static/hub/hub.css: the look every steward screen shares).
STATICFILES_DIRS = [BASE_DIR / "hub" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "admin:login"
# Where a login without a safe `next` lands: the start page ("/" redirects there too).
LOGIN_REDIRECT_URL = "admin:index"

# Addresses of the reverse proxies in front of the hub (addresses or networks, comma-separated).
# A request from one of them is counted against the last address in X-Forwarded-For that is not
# a trusted proxy; otherwise REMOTE_ADDR counts and X-Forwarded-For is ignored, since a client
# can write whatever it likes there (core.lockout.client_address).
HUB_TRUSTED_PROXIES = envlist("HUB_TRUSTED_PROXIES", [])
for _proxy in HUB_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"HUB_TRUSTED_PROXIES must list IP addresses or networks, got {_proxy!r}"
        ) from None

# Login throttling (django-axes, its records in the database): this many failed logins for one
# account, or from one address, refuse further logins of that account or from that address,
# the right password included, until HUB_LOGIN_COOLOFF_SECONDS after the last failed try.
HUB_LOGIN_FAILURE_LIMIT = envint("HUB_LOGIN_FAILURE_LIMIT", 10, minimum=1)
HUB_LOGIN_COOLOFF_SECONDS = envint("HUB_LOGIN_COOLOFF_SECONDS", 900, minimum=1)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: a locked login never reaches the password
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = HUB_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=HUB_LOGIN_COOLOFF_SECONDS)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A successful login does not clear the failures: it would clear its address's, those against other
# accounts too, and anyone with a login could then guess another's password without end.
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "core.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "hub.views.login_locked_out"
# Successful logins are not logged by axes: the records would grow without end.
AXES_DISABLE_ACCESS_LOG = True
# Throttling of wrong API keys (core.lockout): this many from one address within
# HUB_API_KEY_COOLOFF_SECONDS refuse every key from that address, valid ones too, for that long.
# The model of API clients, as AUTH_USER_MODEL names the user model (core.auth).
HUB_API_CLIENT_MODEL = "mdm.ApiClient"
HUB_API_KEY_FAILURE_LIMIT = envint("HUB_API_KEY_FAILURE_LIMIT", 20, minimum=1)
HUB_API_KEY_COOLOFF_SECONDS = envint("HUB_API_KEY_COOLOFF_SECONDS", 900, minimum=1)

# Uploaded import files and the failed-rows files made from them.
MEDIA_ROOT = Path(os.getenv("HUB_MEDIA_DIR", VAR_DIR / "media"))
MEDIA_URL = "media/"

# Security: production values unless HUB_DEBUG is on. /healthz stays reachable over plain HTTP
# for load balancer probes.
SECURE_SSL_REDIRECT = envbool("HUB_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = envint("HUB_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = envbool("HUB_SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = envbool("HUB_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Programs (/api/, /reconcile/) get a problem document, people Django's page.
CSRF_FAILURE_VIEW = "hub.views.csrf_failure"
if envbool("HUB_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Celery: with no broker configured, tasks run in the calling process (embedded default).
BROKER_CONFIGURED = bool(os.getenv("CELERY_BROKER_URL"))
# Eager tasks still take a producer from kombu's pool, which warns about a URL without a host.
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", not BROKER_CONFIGURED)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# Django's cache holds the wrong-key counts of core.lockout, which every web process must share:
# HUB_CACHE_URL (redis://...), else the broker's Redis, else this process's memory (the
# embedded default: one process). Short socket timeouts: a stalled Redis must not hold requests.
_cache_url = os.getenv("HUB_CACHE_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
if _cache_url and not _cache_url.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"HUB_CACHE_URL must be a redis:// URL, got {_cache_url!r}")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "hub",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Validation of inbound messages (validation.tasks). Times in seconds.
# The queue validation tasks go to; the default is the one a plain `celery worker` consumes.
VALIDATION_QUEUE = os.getenv("HUB_VALIDATION_QUEUE") or "celery"
# The queue of the import's tasks (imports.tasks: plan, chunks, apply, match index, sweep), so
# that a pool of workers of its own can run imports beside the validation pool (README,
# "Running against PostgreSQL and Redis").
HUB_IMPORT_QUEUE = os.getenv("HUB_IMPORT_QUEUE") or "celery"
# The queue of duplicate checks (xref.tasks: a saved record, an import's batch, a full run's
# chunks): an import of a million records queues a million checks, which a pool of its own
# keeps from delaying validation.
HUB_DUPLICATES_QUEUE = os.getenv("HUB_DUPLICATES_QUEUE") or "celery"
# The queue of the events' publishing and delivery (events.tasks): a slow subscriber's
# retries never wait behind validation, nor validation behind them.
HUB_EVENTS_QUEUE = os.getenv("HUB_EVENTS_QUEUE") or "celery"
# The CloudEvents `source` of the hub's events (a URI reference naming this hub).
HUB_EVENTS_SOURCE = os.getenv("HUB_EVENTS_SOURCE") or "urn:hub:mdm"
# The demo's planning receiver (demo.receiver): the seed subscribes the planning system to
# supply exceptions there. `make run` sets it; empty, the seed makes no subscription.
HUB_DEMO_RECEIVER_URL = os.getenv("HUB_DEMO_RECEIVER_URL", "")
# Published events are kept this many days (events.retention, run by beat every
# HUB_RETENTION_INTERVAL seconds); the pull feed replays from any cursor or time within them.
HUB_EVENTS_RETENTION_DAYS = envint("HUB_EVENTS_RETENTION_DAYS", 30, minimum=1)
# The EDI gateway (edi): the largest interchange taken (bytes; larger ones get 413 unread),
# how long interchanges are kept (raw, with their acknowledgements; edi.retention, on the
# beat), and a watched directory whose dropped files are read every HUB_EDI_INBOX_INTERVAL
# seconds (empty: none; edi.inbox).
HUB_EDI_MAX_BYTES = envint("HUB_EDI_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
HUB_EDI_RETENTION_DAYS = envint("HUB_EDI_RETENTION_DAYS", 365, minimum=1)

# Change requests: an open one older than this many days is flagged as old in the queue.
CHANGE_REQUEST_OLD_DAYS = envint("HUB_CHANGE_REQUEST_OLD_DAYS", 7, minimum=1)
HUB_EDI_INBOX = os.getenv("HUB_EDI_INBOX", "")
HUB_EDI_INBOX_INTERVAL = envint("HUB_EDI_INBOX_INTERVAL", 30, minimum=1)
# Webhook push (events.webhooks, events.delivery). Times in seconds unless named hours.
# Hosts resolving to loopback, private, link-local, multicast, reserved or unspecified
# addresses are refused (server-side request forgery) unless this is on: a hub whose
# subscribers are on its own network, or the tests' local receivers.
HUB_WEBHOOK_ALLOW_PRIVATE = envbool("HUB_WEBHOOK_ALLOW_PRIVATE", False)
# After a secret's rotation the old one still signs, beside the new, for this many hours.
HUB_WEBHOOK_SECRET_OVERLAP_HOURS = envint("HUB_WEBHOOK_SECRET_OVERLAP_HOURS", 24, minimum=0)
# A delivery not delivered this many hours after its publication (or replay) is a dead
# letter, and holds its partition key's later deliveries back until replayed or discarded.
HUB_WEBHOOK_DEAD_AFTER_HOURS = envint("HUB_WEBHOOK_DEAD_AFTER_HOURS", 24, minimum=1)
# Retries: a random wait (full jitter) up to BASE * 2^(attempts - 1), never above CAP.
HUB_WEBHOOK_RETRY_BASE = envint("HUB_WEBHOOK_RETRY_BASE", 10, minimum=1)
HUB_WEBHOOK_RETRY_CAP = envint("HUB_WEBHOOK_RETRY_CAP", 600, minimum=1)
# The breaker opens after this many failed attempts in a row at one endpoint; a probe goes
# after the cool-off.
HUB_WEBHOOK_BREAKER_FAILURES = envint("HUB_WEBHOOK_BREAKER_FAILURES", 5, minimum=1)
HUB_WEBHOOK_BREAKER_COOLOFF = envint("HUB_WEBHOOK_BREAKER_COOLOFF", 60, minimum=1)
# An endpoint gets this long to accept the connection, and to answer in all.
HUB_WEBHOOK_CONNECT_TIMEOUT = envint("HUB_WEBHOOK_CONNECT_TIMEOUT", 5, minimum=1)
HUB_WEBHOOK_TIMEOUT = envint("HUB_WEBHOOK_TIMEOUT", 10, minimum=1)
# How often the beat sends the due deliveries (retries, probes, claims lost with a worker).
HUB_WEBHOOK_SWEEP_INTERVAL = envint("HUB_WEBHOOK_SWEEP_INTERVAL", 10, minimum=1)
# Retries of a task that hit a transient error (database or broker unreachable), with
# exponential backoff from RETRY_BACKOFF up to RETRY_BACKOFF_MAX; then dead letter.
VALIDATION_MAX_RETRIES = envint("HUB_VALIDATION_MAX_RETRIES", 5, minimum=0)
VALIDATION_RETRY_BACKOFF = envint("HUB_VALIDATION_RETRY_BACKOFF", 2, minimum=1)
VALIDATION_RETRY_BACKOFF_MAX = envint("HUB_VALIDATION_RETRY_BACKOFF_MAX", 300, minimum=1)
# The sweep: how often it runs, when a received message counts as lost in the queue, when a
# claim counts as abandoned by its worker (longer than the slowest validation), and how many
# claims a message gets before it goes to dead letter.
VALIDATION_SWEEP_INTERVAL = envint("HUB_VALIDATION_SWEEP_INTERVAL", 60, minimum=1)
VALIDATION_RECEIVED_TIMEOUT = envint("HUB_VALIDATION_RECEIVED_TIMEOUT", 300, minimum=1)
VALIDATION_CLAIM_TIMEOUT = envint("HUB_VALIDATION_CLAIM_TIMEOUT", 1800, minimum=1)
VALIDATION_MAX_ATTEMPTS = envint("HUB_VALIDATION_MAX_ATTEMPTS", 5, minimum=1)
# Large messages: lines per chunk (one cross-reference batch each). A message, or a forecast
# release in parts, with more lines is split into chunk tasks that any worker runs; a chunk
# claimed longer than CHUNK_TIMEOUT ago counts as lost and is run again.
VALIDATION_CHUNK_LINES = envint("HUB_VALIDATION_CHUNK_LINES", 5000, minimum=1)
VALIDATION_CHUNK_TIMEOUT = envint("HUB_VALIDATION_CHUNK_TIMEOUT", 300, minimum=1)
# An import run or a bulk action on quarantine cases still waiting for its task this many
# seconds after the task was sent counts as lost on the way (the broker was down): the sweep
# sends it again. The run's claim makes a second delivery harmless.
HUB_REQUEUE_SECONDS = envint("HUB_REQUEUE_SECONDS", 300, minimum=10)
# Submission budget of each source system (validation.budget.spend_submission_budget):
# messages and bytes it may submit per minute, counted in the database for all web processes;
# beyond either, a 429 with Retry-After. A system's own budget (admin) overrides these;
# 0: no limit. The byte budget should stay above HUB_MAX_REQUEST_BYTES, or the largest
# messages can never be sent.
HUB_BUDGET_MESSAGES_PER_MINUTE = envint("HUB_BUDGET_MESSAGES_PER_MINUTE", 6000, minimum=0)
HUB_BUDGET_BYTES_PER_MINUTE = envint("HUB_BUDGET_BYTES_PER_MINUTE", 100 * 1024 * 1024, minimum=0)
# A rejected payload (it broke its contract) larger than this many bytes is kept as its size,
# SHA-256 and first bytes, not whole: its errors are what the sender needs.
HUB_REJECTED_PAYLOAD_MAX_BYTES = envint("HUB_REJECTED_PAYLOAD_MAX_BYTES", 64 * 1024, minimum=1024)
# Retention (validation.retention.delete_old_messages, run by beat every RETENTION_INTERVAL
# seconds): rejected messages are deleted this many days after they were received, finished
# ones (released, dead letter) this many days after they finished, unless a record still
# needs them (the ledger, a quarantine case); 0: kept for ever.
HUB_RETENTION_REJECTED_DAYS = envint("HUB_RETENTION_REJECTED_DAYS", 30, minimum=0)
HUB_RETENTION_FINISHED_DAYS = envint("HUB_RETENTION_FINISHED_DAYS", 365, minimum=0)
HUB_RETENTION_INTERVAL = envint("HUB_RETENTION_INTERVAL", 3600, minimum=60)
# Quarantine SLA: how often (seconds) open cases are checked against their team's SLA hours
# (quarantine.TeamSettings, in the admin) and overdue notices emailed.
QUARANTINE_SLA_INTERVAL = envint("HUB_QUARANTINE_SLA_INTERVAL", 300, minimum=1)
# How often (seconds) the match weights are re-estimated from the pairs people decided on.
HUB_MATCH_WEIGHTS_INTERVAL = envint("HUB_MATCH_WEIGHTS_INTERVAL", 86400, minimum=60)

# Mail (the SLA notices). Without HUB_EMAIL_HOST, mails are written to standard output (the
# worker's log) instead of being sent.
EMAIL_HOST = os.getenv("HUB_EMAIL_HOST", "")
EMAIL_PORT = envint("HUB_EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = os.getenv("HUB_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.getenv("HUB_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = envbool("HUB_EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = envint("HUB_EMAIL_TIMEOUT", 10, minimum=1)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.getenv("HUB_EMAIL_FROM", "master-data-hub@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
CELERY_BEAT_SCHEDULE = {
    "publish-events": {
        "task": "events.tasks.publish",
        "schedule": VALIDATION_SWEEP_INTERVAL,
        "options": {"queue": HUB_EVENTS_QUEUE, "expires": VALIDATION_SWEEP_INTERVAL},
    },
    "sweep-stuck-messages": {
        "task": "validation.tasks.sweep_stuck_messages",
        "schedule": VALIDATION_SWEEP_INTERVAL,
        "options": {"queue": VALIDATION_QUEUE, "expires": VALIDATION_SWEEP_INTERVAL},
    },
    "sweep-interrupted-imports": {
        "task": "imports.tasks.sweep_interrupted_imports",
        "schedule": VALIDATION_SWEEP_INTERVAL,
        "options": {"queue": HUB_IMPORT_QUEUE, "expires": VALIDATION_SWEEP_INTERVAL},
    },
    "sweep-waiting-bulk-runs": {
        "task": "quarantine.tasks.sweep_waiting_bulk_runs",
        "schedule": VALIDATION_SWEEP_INTERVAL,
        "options": {"expires": VALIDATION_SWEEP_INTERVAL},
    },
    "quarantine-sla": {
        "task": "quarantine.tasks.mark_overdue",
        "schedule": QUARANTINE_SLA_INTERVAL,
        "options": {"expires": QUARANTINE_SLA_INTERVAL},
    },
    "reestimate-match-weights": {
        "task": "xref.tasks.reestimate_match_weights",
        "schedule": HUB_MATCH_WEIGHTS_INTERVAL,
        "options": {"expires": HUB_MATCH_WEIGHTS_INTERVAL},
    },
    "delete-old-messages": {
        "task": "validation.tasks.delete_old_messages",
        "schedule": HUB_RETENTION_INTERVAL,
        "options": {"expires": HUB_RETENTION_INTERVAL},
    },
    "deliver-webhooks": {
        "task": "events.tasks.deliver_due",
        "schedule": HUB_WEBHOOK_SWEEP_INTERVAL,
        "options": {"queue": HUB_EVENTS_QUEUE, "expires": HUB_WEBHOOK_SWEEP_INTERVAL},
    },
    "purge-events": {
        "task": "events.tasks.purge_events",
        "schedule": HUB_RETENTION_INTERVAL,
        "options": {"queue": HUB_EVENTS_QUEUE, "expires": HUB_RETENTION_INTERVAL},
    },
    "purge-interchanges": {
        "task": "edi.tasks.purge_interchanges",
        "schedule": HUB_RETENTION_INTERVAL,
        "options": {"expires": HUB_RETENTION_INTERVAL},
    },
}
if HUB_EDI_INBOX:
    CELERY_BEAT_SCHEDULE["read-edi-inbox"] = {
        "task": "edi.tasks.read_inbox",
        "schedule": HUB_EDI_INBOX_INTERVAL,
        "options": {"expires": HUB_EDI_INBOX_INTERVAL},
    }

# The largest request body accepted, in bytes; beyond it a 413 with a JSON explanation
# (hub.middleware). Forms are held to the same limit.
HUB_MAX_REQUEST_BYTES = envint("HUB_MAX_REQUEST_BYTES", 20 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = HUB_MAX_REQUEST_BYTES

# CSV imports (imports app): the largest file accepted, in bytes (a million item rows are
# about 150 MB), and how many rows are validated and written together: a plan of items,
# suppliers, sites, calendars or code lists sends a Celery task per chunk of this many rows
# (imports.planning), which any worker of HUB_IMPORT_QUEUE runs.
HUB_IMPORT_MAX_BYTES = envint("HUB_IMPORT_MAX_BYTES", 512 * 1024 * 1024, minimum=1024)
HUB_IMPORT_CHUNK_ROWS = envint("HUB_IMPORT_CHUNK_ROWS", 2000, minimum=1)
# An import run that shows no progress for this many seconds counts as interrupted (its
# worker was killed or redeployed); the sweep below ends it (imports.runs).
HUB_IMPORT_STALL_SECONDS = envint("HUB_IMPORT_STALL_SECONDS", 600, minimum=10)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.auth.BearerKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.auth.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.rest.Pagination",
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",  # the hub's limits on JSON: size, depth, numbers
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "core.rest.exception_handler",
    "PAGE_SIZE": 100,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Master data and cross-reference hub API",
    "DESCRIPTION": (
        "Authoritative items, suppliers, locations, units and calendars, and the "
        "resolution services every sync flow calls. Authenticate with "
        "`Authorization: Bearer <key>` (keys from `manage.py create_api_client`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags and operation ids by resource ("items", "suppliers"), not by the version prefix.
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # The schema and the docs need the same credentials as the API itself.
    "SERVE_PERMISSIONS": ["core.auth.RolePermission"],
    # Several records have a "status" with different choices; name each enum after its record.
    "ENUM_NAME_OVERRIDES": {
        "ItemStatusEnum": "mdm.models.Item.Status",
        "ItemRevisionStatusEnum": "mdm.models.ItemRevision.Status",
        "SupplierStatusEnum": "mdm.models.Supplier.Status",
        "LocationStatusEnum": "mdm.models.Location.Status",
        "UnitStatusEnum": "mdm.models.Unit.Status",
        "CodeValueStatusEnum": "mdm.models.CodeValue.Status",
        "InboundMessageStatusEnum": "validation.models.InboundMessage.Status",
        "QuarantineCaseStatusEnum": "quarantine.models.QuarantineCase.Status",
        # An import run's, in both the run and the 202 answer that adds where to follow it.
        "ImportRunStatusEnum": "imports.models.ImportRun.Status",
        "ImportRunKindEnum": "imports.models.KIND_CHOICES",
        # A subscription's push or pull, beside an import's plan or apply "mode" (whose name
        # stays as it was before subscriptions came).
        "SubscriptionModeEnum": "events.models.Subscription.Mode",
        "ModeEnum": "imports.models.ImportRun.Mode",
        # Every origin a reference shows; a client may claim only the API ones.
        "CrossReferenceOriginEnum": "xref.models.CrossReference.Origin",
        "ClaimableOriginEnum": "xref.serializers.API_ORIGINS",
        # A reference's kind, in its short form (answers, conflicts) and the registry's.
        "CrossReferenceKindEnum": "xref.models.Kind",
        # An interchange's, beside the other "status" and "source" fields.
        "InterchangeStatusEnum": "edi.models.Interchange.Status",
        "InterchangeSourceEnum": "edi.models.Interchange.Source",
        # A change request's, and the create/update/delete of its items and of asking for one.
        "ChangeRequestStatusEnum": "changes.models.ChangeRequest.Status",
        "ChangeItemActionEnum": "changes.models.ChangeItem.Action",
    },
}

# Tracing (hub.telemetry): spans of web requests, Celery tasks and PostgreSQL calls, sent over
# OTLP/HTTP to this collector (e.g. http://otel-collector:4318; /v1/traces is added unless the
# URL ends with it) under the service name. Empty: no tracing at all, nothing of it loaded.
HUB_OTEL_ENDPOINT = os.getenv("HUB_OTEL_ENDPOINT", "").strip()
if HUB_OTEL_ENDPOINT and not HUB_OTEL_ENDPOINT.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        f"HUB_OTEL_ENDPOINT must be an http:// or https:// URL, got {HUB_OTEL_ENDPOINT!r}"
    )
HUB_OTEL_SERVICE_NAME = os.getenv("HUB_OTEL_SERVICE_NAME", "").strip() or "mdm-hub"

LOG_LEVEL = envchoice("HUB_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOG_FORMAT = envchoice("HUB_LOG_FORMAT", "text" if DEBUG else "json", ("json", "text"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "hub.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    # Every line goes out through this one handler, redacted (hub.logging.RedactSecrets):
    # Django's own loggers are sent to it (their default handlers would print or mail the
    # "Not Found: /reconcile/<key>/" warnings in clear).
    "filters": {"redact": {"()": "hub.logging.RedactSecrets"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # django-axes says at INFO what it does with every login; its warnings (failures, lockouts)
    # are what matters.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "django": {"handlers": [], "level": "INFO"},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # runserver's "Watching for file changes": noise between `make run`'s login and the
        # server's address.
        "django.utils.autoreload": {"level": "WARNING"},
    },
}
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks run inside the request or command that sent them, which reports the outcome
    # itself: a "Task ... succeeded" line per task (one per demo message under `make run`)
    # says nothing more. A task's failure is still logged.
    LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}

# Health check: how long a probe waits for the broker before calling it down.
HEALTHZ_BROKER_TIMEOUT = envint("HUB_HEALTHZ_BROKER_TIMEOUT", 2, minimum=1)

# /metrics (hub.metrics): the bearer token a Prometheus scraper sends. Unset, only a logged-in
# viewer or steward can read the metrics. A short token is refused: it would be guessable.
METRICS_TOKEN = os.getenv("HUB_METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 24:
    raise ImproperlyConfigured("HUB_METRICS_TOKEN must be at least 24 characters long")
