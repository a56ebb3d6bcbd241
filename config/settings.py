"""Settings, all from the environment (django-environ), as CONTRACT.md lists them.

DATABASE_URL        default: SQLite file db.sqlite3 in the project (a newcomer's first run)
CELERY_BROKER_URL   default: kombu's filesystem transport under var/broker (no server needed)
SECRET_KEY, DEBUG, ALLOWED_HOSTS
SECRETS_KEY         Fernet key(s) for secrets at rest (docs/operations.md "Secrets at rest")
With DEBUG off (the default) a missing SECRET_KEY is a start-up error and cookies are secure;
so is a missing SECRETS_KEY outside the embedded (SQLite) setup.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
import structlog
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.scale import storage_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# a development checkout's .env (scripts/dev-env.sh, run by `make run`); ERP_ENV_FILE names another
environ.Env.read_env(env.str("ERP_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("ERP_TESTING", default="pytest" in sys.modules)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "dev-insecure-key-do-not-use-in-production"  # noqa: S105
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (or DEBUG=1 for development)."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if (DEBUG or TESTING) else [])
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
    # kept installed only so core's migration 0004 can hash the plain keys it held; nothing
    # writes there any more (API tokens are knox's hashed AuthToken rows)
    "rest_framework.authtoken",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_prometheus",
    "django_structlog",
    # project apps (lowest layer first)
    "core",
    "inventory",
    "sales",
    "finance",
    "integrations",
    "ops",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.CorrelationIdMiddleware",
    "core.middleware.RequestGuardMiddleware",  # body size and NUL characters, before anything reads the body
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.UserLocaleMiddleware",  # the user's language and time zone (after authentication)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "core.idempotency.IdempotencyMiddleware",
    "core.api.query.StrictQueryParamsMiddleware",  # GET query parameters = the documented ones
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # last, as django-axes asks: turns a locked-out login into its lockout response
    "axes.middleware.AxesMiddleware",
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
                "core.context_processors.roles",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)  # services are the transaction boundary
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL + a busy timeout so web, worker and beat can share the embedded database.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE",
         "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # Server-side binding + psycopg's automatic prepared statements: a statement a
        # connection runs again (prepare_threshold=1: from its second run) is not parsed and
        # planned again, and parameters are not rendered into the SQL text on the client
        # (≈ 15 % of PostgreSQL's CPU on the order path, docs/benchmarks.md). core.db sizes the
        # cache and replaces a connection whose prepared plan a migration made stale. Restart
        # the app processes after a migration (docs/operations.md, "Deploying"). Behind
        # PgBouncer in transaction mode older than 1.22, or with max_prepared_statements = 0,
        # set DATABASE_PREPARED_STATEMENTS=0.
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=1)

# --- read replica (core.replica, docs/deployment.md "Read replica") -----------------------------
# DATABASE_REPLICA_URL (optional): a PostgreSQL streaming standby of DATABASE_URL. Reports,
# dashboards, CSV exports and reconciliation scans read it (core.replica.reading_replica) while
# it is at most DATABASE_REPLICA_MAX_LAG_SECONDS behind; everything that decides or writes uses
# the primary. Under the test runner it is off unless a test turns DATABASE_REPLICA_ENABLED on
# (tests/core/test_replica.py), and Django's test setup mirrors it to the test database.
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=30.0)
DATABASE_REPLICA_ENABLED = env.bool("DATABASE_REPLICA_ENABLED", default=not TESTING)
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    for _key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "OPTIONS", "ATOMIC_REQUESTS"):
        if _key in DATABASES["default"]:
            DATABASES["replica"].setdefault(_key, DATABASES["default"][_key])
    if TESTING:
        DATABASES["replica"]["TEST"] = {"MIRROR": "default"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=12)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- login protection: django-axes (docs/operations.md "Login protection") --------------------
# Axes' backend comes first: it refuses a locked-out (username, IP) before the password is
# even checked, and counts failures of the admin and web UI logins (both go through
# django.contrib.auth.authenticate with the request).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
# lock the pair: an attacker guessing one user's password from one address is stopped without
# locking the real user out from their own address (nor every user behind the attacker's NAT)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind a reverse proxy the client address is in X-Forwarded-For: set AXES_IPWARE_PROXY_COUNT
# to the number of proxies in front of the app (unset: REMOTE_ADDR, the direct peer).
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=None)
AXES_IPWARE_META_PRECEDENCE_ORDER = (["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT
                                     else ["REMOTE_ADDR"])

# --- API tokens: django-rest-knox (docs/operations.md "API keys") -----------------------------
# Only a SHA-512 digest of each key is stored (knox); the key is shown once. New keys expire
# after API_TOKEN_TTL_DAYS (0: never) unless `manage.py apitoken issue --days N` says otherwise.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=365)
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",       # CONTRACT: `Authorization: Token <key>`
    "TOKEN_PREFIX": "erp_",             # lets secret scanners recognise a leaked key
    "TOKEN_TTL": timedelta(days=API_TOKEN_TTL_DAYS) if API_TOKEN_TTL_DAYS else None,
    "AUTO_REFRESH": False,
    # core.migrations.0004 hashed the old plain keys with SHA-512: keep it
    "SECURE_HASH_ALGORITHM": "hashlib.sha512",
}

# --- secrets at rest (docs/operations.md "Secrets at rest") -----------------------------------
# Webhook endpoint secrets and shop credentials are Fernet-encrypted in the database
# (core.encryption). SECRETS_KEY is a comma-separated list of Fernet keys: the first encrypts,
# all decrypt, so a key is rotated by putting a new one first and running
# `manage.py rotate_secrets_key`. A development key derived from SECRET_KEY is used only with
# DEBUG, under the test runner or on the embedded setup (SQLite); elsewhere a missing key is a
# start-up error.
SECRETS_KEYS = env.list("SECRETS_KEY", default=[])
if not SECRETS_KEYS:
    if DEBUG or TESTING or DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        SECRETS_KEYS = [base64.urlsafe_b64encode(hashlib.sha256(b"secrets-at-rest:" + SECRET_KEY.encode())
                                                 .digest()).decode()]
    else:
        raise ImproperlyConfigured(
            "SECRETS_KEY is not set. Generate one with `python -c \"from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())\"` and set it in the environment (docs/operations.md).")

LANGUAGE_CODE = "en-us"
# The staff UI's languages (a user's preference, else Accept-Language, else LANGUAGE_CODE):
# locale/<code>/LC_MESSAGES/django.po, compiled to .mo by `make messages` (part of `make install`)
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # files another host may need (EDI out, archives): STORAGE_URL, see config.scale / docs/deployment.md
    "default": storage_from_url(env.str("STORAGE_URL", default=""), default_dir=VAR_DIR / "files"),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
                    if not (DEBUG or TESTING) else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- security headers (docs/operations.md, "Security headers") --------------------------------
# Always: no MIME sniffing, same-origin referrers, no framing, a Content-Security-Policy.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not TESTING:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # the TLS proxy must set (and strip) it
    # HTTPS only: secure cookies, HSTS for a year, HTTP redirected to HTTPS (except the probes
    # a load balancer or Prometheus sends over plain HTTP inside the network).
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)  # opt in: hstspreload.org
SESSION_COOKIE_HTTPONLY = True

# django-csp 4 (dict settings). Nothing inline: the templates load every script and style from
# /static/ (json_script data blocks are not scripts). The API docs pages widen it for their
# own view only (core.api.docs). Enforced with DEBUG=0 (and in tests, whose browser tests fail
# on any violation); report-only with DEBUG=1, so Django's debug pages keep their inline styles.
_CSP = {
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
        **({"report-uri": [env.str("CSP_REPORT_URI")]} if env.str("CSP_REPORT_URI", default="") else {}),
    },
}
if DEBUG:
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.TokenAuthentication",  # token, user and roles in one query
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON nested deeper than JSON_MAX_DEPTH is a 400, not a RecursionError (core.api.parsers)
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",  # spectacular + request constraints
    "EXCEPTION_HANDLER": "core.api.problems.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.PartnerRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "partner": env.str("PARTNER_THROTTLE_RATE", default="600/min"),
        # per source address on the endpoints anyone may call (shop webhook receivers)
        "unauthenticated": env.str("UNAUTHENTICATED_THROTTLE_RATE", default="120/min"),
    },
    # proxies in front of the app whose X-Forwarded-For entries the throttles trust (0: REMOTE_ADDR)
    "NUM_PROXIES": env.int("NUM_PROXIES", default=None),
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Distribution ERP API",
    "DESCRIPTION": "Inventory, sales, finance and integrations. See docs/ and CONTRACT.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # the schema and its viewers: staff only unless API_DOCS_PUBLIC (core.api.permissions)
    "SERVE_PERMISSIONS": ["core.api.permissions.ApiDocsAccess"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "core.api.schema.postprocess_strict_input"],
}
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=DEBUG)

# --- /metrics: who may scrape (core.views.metrics) ---------------------------------------------
# A request passes with "Authorization: Bearer <METRICS_TOKEN>" or from an address in
# METRICS_ALLOWED_NETWORKS (CIDRs, matched against REMOTE_ADDR). With neither set, nobody
# passes when DEBUG=0 and only loopback does with DEBUG=1.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_network!r} is not a network ({_exc}).") from None

IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
# A claim still in flight after this long belongs to a request that was killed (worker timeout,
# OOM, deploy) and is taken over by the next retry. Keep it above the longest a request can run:
# gunicorn's --timeout (default 30 s) and any proxy read timeout in front of it.
IDEMPOTENCY_IN_FLIGHT_TIMEOUT = timedelta(seconds=env.int("IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS", default=300))

# --- cache: shared between processes in production (partner rate limit, KPI tiles) ----------------
# CACHE_URL=redis://host:6379/1 selects Django's built-in Redis backend; the default, process-local
# memory, is for the embedded single-machine setup (each process then counts its own rate limit).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"].endswith(("RedisCache",)):
    CACHES["default"]["BACKEND"] = "django.core.cache.backends.redis.RedisCache"  # not django-redis
    CACHES["default"].pop("OPTIONS", None)  # django-environ adds django-redis' CLIENT_CLASS
    # a cache that hangs must not hang the requests that use it (throttling runs on every call)
    CACHES["default"]["OPTIONS"] = {"socket_connect_timeout": 1, "socket_timeout": 1}

# --- Celery -----------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # fanout exchanges (broadcasts, pidbox); kombu's default is ./control in the working directory
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Redis: the visibility timeout must exceed any task's run time (our tasks are short);
    # long retry schedules live in the database, never as Celery countdowns.
    # Socket timeouts: a broker that accepts connections and never answers must not hold a
    # request (publishing after commit) or a health check; see the publish settings below.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": env.float("BROKER_SOCKET_TIMEOUT", default=1.0),
        "socket_timeout": env.float("BROKER_SOCKET_TIMEOUT", default=1.0),
    }
# Publishing after commit (the outbox hand-off) is bounded by these: connect and socket timeouts
# and one retry, about 2 s in all with a broker that accepts and never answers. On failure the
# event stays in the outbox for the beat sweeper, erp_outbox_enqueue_failures_total counts it,
# and the process skips the broker for BROKER_DOWN_RETRY_SECONDS (requests do not wait again).
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("BROKER_SOCKET_TIMEOUT", default=1.0)
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
BROKER_DOWN_RETRY_SECONDS = env.float("BROKER_DOWN_RETRY_SECONDS", default=5.0)
# Webhook deliveries have their own queue (config.celery.route_task), so a slow partner endpoint
# never delays invoicing or the outbox relay on the default queue ("celery"). Run a worker for
# each: `celery -A config worker -Q celery` and `celery -A config worker -Q webhooks`
# (or one worker with `-Q celery,webhooks`, as scripts/run-dev.sh does).
WEBHOOK_QUEUE = env.str("WEBHOOK_QUEUE", default="webhooks")
CELERY_TASK_ROUTES = ("config.celery.route_task",)
# --- queues by kind of work (docs/deployment.md "Workers"): a flood on one never delays another.
# TASK_KINDS maps task names (fnmatch patterns, first match wins) to a kind of work; TASK_QUEUES
# names each kind's queue (QUEUE_<KIND> renames one). config.celery.route_task reads both at send
# time. Unmatched tasks go to Celery's default queue "celery". Consume every queue: one worker per
# queue in production, or `-Q relay,posting,webhooks,channels,ops,celery` (scripts/run-dev.sh).
TASK_KINDS = [
    ("core.messaging.tasks.prune_outbox", "ops"),
    ("core.messaging.tasks.*", "relay"),           # outbox relay + sweeper: the consumers, invoicing included
    ("integrations.tasks.deliver_*", "webhooks"),  # partner endpoints, slow or hung ones too
    ("core.documents.*", "webhooks"),              # documents e-mailed out: a slow SMTP server is a slow endpoint
    ("integrations.tasks.*", "channels"),          # inbound messages, shop backfills
    ("sales.tasks.*", "posting"),                  # backorder allocation
    ("inventory.tasks.*", "posting"),              # replenishment
    ("finance.tasks.*", "posting"),
    ("ops.tasks.*", "ops"),                        # reconciliations, SLA checks, alerts, digests
    ("core.tasks.*", "ops"),                       # housekeeping (idempotency keys, retention)
]
TASK_QUEUES = {kind: env.str(f"QUEUE_{kind.upper()}", default=kind)
               for kind in ("relay", "posting", "channels", "ops")}
TASK_QUEUES["webhooks"] = WEBHOOK_QUEUE
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True               # at-least-once: consumers are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the DB connection after every task unless this is set, so each
# task would open a new PostgreSQL connection; keep it (CONN_MAX_AGE still applies).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
# Task events feed monitors such as Flower; each costs a broker message per task state (about
# 5 ms of CPU per task here, see docs/benchmarks.md), so they are opt-in. /metrics counts tasks
# from in-process signals and does not need them.
CELERY_WORKER_SEND_TASK_EVENTS = env.bool("CELERY_WORKER_SEND_TASK_EVENTS", default=False)
CELERY_TASK_SEND_SENT_EVENT = env.bool("CELERY_TASK_SEND_SENT_EVENT", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# --- one active beat, failover (docs/deployment.md "Beat") ---------------------------------------
# On Redis, beat runs celery-redbeat: the schedule's state (each entry's last run) lives in Redis
# and a Redis lock lets exactly one beat schedule. Run two beats (two hosts): the second waits for
# the lock and takes over at most BEAT_LOCK_TIMEOUT_SECONDS (+ one loop) after the first dies,
# without running an entry again that the first already ran. The embedded setup (filesystem
# broker, one machine) keeps Celery's file scheduler above.
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) or env.str("REDBEAT_REDIS_URL", default=""):
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = env.str("REDBEAT_REDIS_URL", default=CELERY_BROKER_URL)
    CELERY_REDBEAT_KEY_PREFIX = env.str("REDBEAT_KEY_PREFIX", default="erp:redbeat")
    CELERY_REDBEAT_LOCK_TIMEOUT = env.int("BEAT_LOCK_TIMEOUT_SECONDS", default=30)
    CELERY_REDBEAT_REDIS_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5,
                                    "retry_on_timeout": True, "health_check_interval": 10}
    # the active beat renews its lock at least this often; the standby polls for it as often
    CELERY_BEAT_MAX_LOOP_INTERVAL = env.int("BEAT_MAX_LOOP_SECONDS", default=5)

# The one beat schedule of the system (STYLE rule 23). Each entry names its cadence.
CELERY_BEAT_SCHEDULE = {
    # every 5 s: dispatch outbox events not relayed on commit (crash between commit and enqueue)
    "outbox-sweep": {"task": "core.messaging.tasks.sweep_outbox", "schedule": 5.0},
    # every 10 s: webhook deliveries whose next attempt is due (retry schedule lives in the DB)
    "webhook-retries": {"task": "integrations.tasks.deliver_due_webhooks", "schedule": 10.0},
    # 03:10 daily: prune dispatched outbox rows past retention
    "outbox-prune": {"task": "core.messaging.tasks.prune_outbox", "schedule": crontab(hour=3, minute=10)},
    # every minute: inbound messages stored but never processed (crash between store and process)
    "inbound-stuck": {"task": "integrations.tasks.process_stuck_inbound_messages", "schedule": 60.0},
    # :25 hourly: pull recent WooCommerce orders to backfill missed webhooks
    "woocommerce-backfill": {"task": "integrations.tasks.backfill_woocommerce_orders",
                             "schedule": crontab(minute=25)},
    # :40 hourly: expire idempotency keys older than 24 h
    "idempotency-purge": {"task": "core.tasks.purge_idempotency_keys", "schedule": crontab(minute=40)},
    # every 2 min: allocate backorders oldest first (also triggered by receipts)
    "backorder-allocation": {"task": "sales.tasks.allocate_backorders", "schedule": 120.0},
    # :05 hourly: replenishment run -> suggested purchase orders
    "replenishment": {"task": "inventory.tasks.run_replenishment", "schedule": crontab(minute=5)},
    # every 15 min: reconciliations I1..I8 and integration health
    "reconciliations": {"task": "ops.tasks.run_reconciliations", "schedule": crontab(minute="*/15")},
    # every 5 min: SLA rules (invoice latency, webhook delivery, backorder age, credit hold age)
    "sla-checks": {"task": "ops.tasks.check_slas", "schedule": crontab(minute="*/5")},
    # money in several currencies (#15): the daily reference rates, the month-end revaluation
    "fx-rate-feed": {"task": "finance.tasks.load_rate_feed", "schedule": crontab(hour=16, minute=30)},
    "fx-revaluation": {"task": "finance.tasks.revalue_period_end", "schedule": crontab(day_of_month=1, hour=0,
                                                                                         minute=30)},
    # 03:20 daily (PostgreSQL): create the queue tables' months ahead, archive and drop finished
    # months past retention (core.partitions, `manage.py partitions`)
    "queue-partitions": {"task": "core.tasks.maintain_partitions", "schedule": crontab(hour=3, minute=20)},
    # 00:15 daily: quotations past valid_until are marked expired (accepting one is refused anyway)
    "quotation-expiry": {"task": "sales.tasks.expire_quotations", "schedule": crontab(hour=0, minute=15)},
}

# --- business settings ------------------------------------------------------------------------
ERP = {
    "COMPANY_NAME": env.str("ERP_COMPANY_NAME", default="Northwind Distribution"),
    # the company (book-keeping) currency; ERP_CURRENCY is the older name and still read
    "CURRENCY": env.str("ERP_COMPANY_CURRENCY", default=env.str("ERP_CURRENCY", default="USD")),
    # the daily reference-rate feed (ECB eurofxref-daily XML format), a file path or URL; empty: off
    "RATE_FEED_URL": env.str("ERP_RATE_FEED_URL", default=""),
    "EVENT_SOURCE": env.str("ERP_EVENT_SOURCE", default="/distribution-erp"),
    "OUTBOX_RETENTION_DAYS": env.int("ERP_OUTBOX_RETENTION_DAYS", default=30),
    "OUTBOX_SWEEP_AFTER_SECONDS": env.int("ERP_OUTBOX_SWEEP_AFTER_SECONDS", default=3),
    # how long a woken relay task lets further commits gather before it claims (Redis broker)
    "OUTBOX_RELAY_GATHER_MS": env.int("ERP_OUTBOX_RELAY_GATHER_MS", default=100),
    # a relay killed mid-batch: its events are relayed again by the sweeper after this long
    "OUTBOX_RELAY_LEASE_SECONDS": env.int("ERP_OUTBOX_RELAY_LEASE_SECONDS", default=120),
    "WEBHOOK_RETRY_SCHEDULE": env.list("ERP_WEBHOOK_RETRY_SCHEDULE", cast=int,
                                       default=[5, 30, 120, 600, 1800, 7200, 21600, 43200]),
    "WEBHOOK_TIMEOUT_SECONDS": env.float("ERP_WEBHOOK_TIMEOUT_SECONDS", default=10.0),
    "WEBHOOK_DISABLE_AFTER_HOURS": env.int("ERP_WEBHOOK_DISABLE_AFTER_HOURS", default=72),
    "WEBHOOK_ALLOW_PRIVATE_URLS": env.bool("ERP_WEBHOOK_ALLOW_PRIVATE_URLS", default=DEBUG or TESTING),
    "INBOUND_MAX_BYTES": env.int("ERP_INBOUND_MAX_BYTES", default=2 * 1024 * 1024),
    # inbound messages' months are archived and dropped this long after they end (core.partitions)
    "INBOUND_RETENTION_DAYS": env.int("ERP_INBOUND_RETENTION_DAYS", default=90),
    # outbound EDI files: <prefix>/<partner code>/<file> in the shared storage (STORAGE_URL)
    "EDI_OUTBOX_PREFIX": env.str("ERP_EDI_OUTBOX_PREFIX", default="edi/outbox"),
    "PARTNER_PRICE_TOLERANCE": Decimal(env.str("ERP_PARTNER_PRICE_TOLERANCE", default="0.00")),
    "RECEIPT_OVER_TOLERANCE": Decimal(env.str("ERP_RECEIPT_OVER_TOLERANCE", default="0.05")),
    "BILL_QTY_TOLERANCE": Decimal(env.str("ERP_BILL_QTY_TOLERANCE", default="0.00")),
    "BILL_PRICE_TOLERANCE": Decimal(env.str("ERP_BILL_PRICE_TOLERANCE", default="0.02")),
    "SLA_INVOICE_MINUTES": env.int("ERP_SLA_INVOICE_MINUTES", default=15),
    "SLA_WEBHOOK_MINUTES": env.int("ERP_SLA_WEBHOOK_MINUTES", default=60),
    "SLA_BACKORDER_DAYS": env.int("ERP_SLA_BACKORDER_DAYS", default=7),
    "SLA_CREDIT_HOLD_HOURS": env.int("ERP_SLA_CREDIT_HOLD_HOURS", default=24),
    "SLA_OUTBOX_MINUTES": env.int("ERP_SLA_OUTBOX_MINUTES", default=5),
    "SLA_GRNI_DAYS": env.int("ERP_SLA_GRNI_DAYS", default=30),  # received, not billed (ops grni_aging)
    "ALERT_EMAILS": env.list("ERP_ALERT_EMAILS", default=[]),
    "ALERT_WEBHOOK_URL": env.str("ERP_ALERT_WEBHOOK_URL", default=""),
    # documents (core.documents): the company block of every PDF, and who e-mails them
    "COMPANY_ADDRESS": env.str("ERP_COMPANY_ADDRESS", default="").replace("\\n", "\n"),  # lines: "\n"
    "COMPANY_TAX_ID": env.str("ERP_COMPANY_TAX_ID", default=""),
    "COMPANY_EMAIL": env.str("ERP_COMPANY_EMAIL", default=""),
    "COMPANY_LOGO": env.str("ERP_COMPANY_LOGO", default=""),  # path of a PNG/JPEG file on the server
    "DOCUMENTS_FROM_EMAIL": env.str("ERP_DOCUMENTS_FROM_EMAIL", default=""),  # default: DEFAULT_FROM_EMAIL
    # tax (docs/finance.md "Tax"): the engine class (an adapter to an external service would be
    # another dotted path) and whether tax is rounded per line or once per rate on a document
    "TAX_ENGINE": env.str("ERP_TAX_ENGINE", default="finance.tax.TableTaxEngine"),
    "TAX_ROUNDING": env.str("ERP_TAX_ROUNDING", default="line"),  # line | document
}

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="erp@localhost")
# documents: EMAIL_URL (smtp+tls://user:pass@host:587, django-environ) sets the SMTP backend
# and its EMAIL_HOST/PORT/USER/PASSWORD/USE_TLS at once; otherwise those settings one by one.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# files stored through Django's storage API (archived PDFs) when the default storage is a folder
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# --- logging: structlog, JSON in production, console in development ---------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": structlog.stdlib.ProcessorFormatter, "processor": structlog.processors.JSONRenderer()},
        "console": {"()": structlog.stdlib.ProcessorFormatter,
                    "processor": structlog.dev.ConsoleRenderer(colors=False)},
    },
    "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "console" if DEBUG else "json"}},
    "root": {"handlers": ["default"], "level": LOG_LEVEL},
    "loggers": {
        "django_structlog": {"level": "WARNING" if TESTING else LOG_LEVEL},
        "django.db.backends": {"level": "INFO"},
    },
}
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)
# the client IP is in the access log; resolving it per request costs ~570 Python calls
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
DJANGO_STRUCTLOG_CELERY_ENABLED = False  # we bind correlation ids into Celery ourselves (core.celery_context)

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
