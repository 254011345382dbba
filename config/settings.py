"""Deskhand settings, read from the environment (and `.env` when present) with django-environ.

Every variable is listed in `.env.example` and the README. A malformed value stops start-up with
a message that names the variable.
"""

import os
import secrets
import socket
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from core.files import read_private_file, write_private_file

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")


def _read(name, parse, default):
    """Parse one variable; a value that does not parse names the variable in the error.

    An empty value means "use the default", so `.env.example` can list every variable.
    """
    if os.environ.get(name) == "":
        del os.environ[name]
    try:
        return parse(name, default=default)
    except (ValueError, TypeError, ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"{name} is malformed: {exc}") from None


def _url(name, default):
    value = _read(name, env.str, default)
    if value and not value.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"{name} is malformed: expected an http(s):// URL, got {value!r}")
    return value.rstrip("/") if value else value


# --- Where things live ------------------------------------------------------------------------
DATA_DIR = Path(_read("DESKHAND_DATA_DIR", env.str, str(BASE_DIR / "data"))).resolve()
SCENARIOS_DIR = Path(_read("DESKHAND_SCENARIOS_DIR", env.str, str(BASE_DIR / "scenarios"))).resolve()
LOG_DIR = DATA_DIR / "logs"
MEDIA_ROOT = DATA_DIR / "media"
# Below this much free space in the data dir, new work is refused (507) and executions end with
# `disk_full` while there is still room to record why.
MIN_FREE_BYTES = _read("DESKHAND_MIN_FREE_MB", env.int, 100) * 1_000_000
for _folder in (DATA_DIR, LOG_DIR, MEDIA_ROOT):
    _folder.mkdir(parents=True, exist_ok=True)


def _private_value(name: str, filename: str) -> str:
    """A secret from the environment, or generated once into the data dir (mode 0600)."""
    value = _read(name, env.str, "")
    if value:
        return value
    path = DATA_DIR / filename
    stored = read_private_file(path)
    if stored and stored.strip():
        return stored.strip()
    value = secrets.token_urlsafe(32)
    write_private_file(path, value + "\n")
    return value


SECRET_KEY = _private_value("DESKHAND_SECRET_KEY", "secret-key")
API_TOKEN = _private_value("DESKHAND_API_TOKEN", "api-token")
API_TOKEN_FILE = None if _read("DESKHAND_API_TOKEN", env.str, "") else DATA_DIR / "api-token"
# A short token can be guessed, and secret masking ignores short values (they would mask ordinary
# words), so a short token would show up in events, replays and error bodies.
MIN_API_TOKEN_LENGTH = 16
if len(API_TOKEN) < MIN_API_TOKEN_LENGTH:
    raise ImproperlyConfigured(
        f"DESKHAND_API_TOKEN is too short ({len(API_TOKEN)} characters"
        + (f", read from {API_TOKEN_FILE}" if API_TOKEN_FILE else "")
        + f"); use at least {MIN_API_TOKEN_LENGTH}: a short token can be guessed, and it would not be masked in "
        "events, logs and error bodies. Generate one with: "
        'python -c "import secrets; print(secrets.token_urlsafe(32))"'
    )
DEBUG = _read("DESKHAND_DEBUG", env.bool, False)

# --- HTTP -------------------------------------------------------------------------------------
# Only names that resolve to this machine: a DNS-rebinding page arrives with its own Host.
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", *_read("DESKHAND_ALLOWED_HOSTS", env.list, [])]
MAX_BODY_BYTES = _read("DESKHAND_MAX_BODY_BYTES", env.int, 1_000_000)
# Failed sign-ins (wrong API tokens, wrong passwords) one client address may make in a minute
# before every sign-in from it gets 429 for the rest of that minute.
SIGNIN_FAILURES_PER_MINUTE = _read("DESKHAND_SIGNIN_FAILURES_PER_MINUTE", env.int, 10)
if SIGNIN_FAILURES_PER_MINUTE < 1:
    raise ImproperlyConfigured("DESKHAND_SIGNIN_FAILURES_PER_MINUTE is malformed: it must be at least 1")
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES
# A request body must arrive within this many seconds of its headers (408 otherwise).
BODY_TIMEOUT_SECONDS = _read("DESKHAND_BODY_TIMEOUT_SECONDS", env.float, 30.0)

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
    "core",
    "events",
    "scenarios",
    "memory",
    "logs",
    "providers",
    "runs",
    "sessions.apps.LiveSessionsConfig",
    "history",
    "web",
    "config",
]

MIDDLEWARE = [
    # First: nothing else may act on a request whose Host is not ours (DNS rebinding).
    "config.security.HostAllowlistMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.security.CrossSiteRequestMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.security.ApiRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so its process_exception sees a view's exception first.
    "config.disk_full.DiskFullMiddleware",
]

ROOT_URLCONF = "config.urls"
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
            ]
        },
    }
]
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "media/"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database ---------------------------------------------------------------------------------
DATABASES = {"default": _read("DATABASE_URL", env.db_url, f"sqlite:///{DATA_DIR / 'deskhand.sqlite3'}")}
if DATABASES["default"]["ENGINE"] not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
    raise ImproperlyConfigured("DATABASE_URL is malformed: use sqlite:///path or postgres://user@host:port/name")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker are separate processes writing one file: WAL lets readers run beside the
    # writer, and IMMEDIATE transactions wait for the lock (up to the timeout) instead of failing
    # with "database is locked" when a read upgrades to a write.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory: the Celery worker in the tests opens the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-deskhand.sqlite3")}
else:
    # Under ASGI each request's sync work runs on a thread of its own, so persistent connections
    # would pile up one per request thread; connect per request instead (cheap on a LAN).
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# --- Celery and wake-ups ----------------------------------------------------------------------
# Seconds without a heartbeat after which an execution is marked interrupted (and a machine offline).
HEARTBEAT_STALE_SECONDS = _read("DESKHAND_HEARTBEAT_STALE_SECONDS", env.int, 60)
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = _read("CELERY_BROKER_URL", env.str, "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A broker that needs no server: messages are files in the data dir (written whole: config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    # A broker that needs no server: messages are files in the data dir. The transport ignores the
    # host, but kombu warns "No hostname was supplied" on every connection without one (at start
    # and for each queued run): name one.
    if CELERY_BROKER_URL in ("filesystem://", "filesystem:///"):
        CELERY_BROKER_URL = "filesystem://localhost/"
        if "CELERY_BROKER_URL" in os.environ:
            # Celery reads this variable itself, ahead of the setting.
            os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL
    for _sub in ("queue", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # How often an idle worker looks for a message: half of this is what a run waits, on
        # average, between POST /api/runs and its pick-up. bench.admission (POST -> `running`, p50 /
        # p95; idle worker CPU): 0.1 s: 93 / 134 ms, 1.1 %; 0.05 s: 42 / 70 ms, 1.2 %; 0.02 s:
        # 30 / 47 ms, 2.1 %.
        "polling_interval": 0.05,
    }
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "sqla+")):
    raise ImproperlyConfigured(f"CELERY_BROKER_URL is malformed: unsupported scheme in {CELERY_BROKER_URL!r}")
else:
    # An unacknowledged message (its worker died) is delivered again after this long; the pick-up
    # claim turns a copy of a message whose run is already under way into a no-op.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(60, 2 * HEARTBEAT_STALE_SECONDS)}

REDIS_URL = _read("DESKHAND_REDIS_URL", env.str, "")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"DESKHAND_REDIS_URL is malformed: expected redis://, got {REDIS_URL!r}")
CHANNEL_LAYERS = (
    {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
    if REDIS_URL
    else {}
)
# Readers without Redis learn about new events by polling the database this often (seconds).
EVENT_POLL_INTERVAL = _read("DESKHAND_EVENT_POLL_INTERVAL", env.float, 0.05)
SSE_KEEPALIVE_SECONDS = _read("DESKHAND_SSE_KEEPALIVE_SECONDS", env.float, 15.0)

# --- This machine and the models --------------------------------------------------------------
MACHINE_NAME = _read("DESKHAND_MACHINE_NAME", env.str, socket.gethostname())
DEFAULT_MODEL = _read("DESKHAND_DEFAULT_MODEL", env.str, "gpt-5.4")


def _prices(name: str) -> dict[str, tuple[float, float]]:
    """`model=input/output,…` in US dollars per million tokens, e.g. `gpt-5.4=1.25/10`."""
    prices = {}
    for entry in _read(name, env.list, []):
        model, _, pair = entry.partition("=")
        try:
            per_in, per_out = (float(part) for part in pair.split("/"))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} is malformed: expected model=input/output per million tokens (e.g. gpt-5.4=1.25/10), "
                f"got {entry!r}"
            ) from None
        prices[model.strip()] = (per_in, per_out)
    return prices


# Prices of models per million input/output tokens: runs and sessions show a cost estimate for them.
MODEL_PRICES = _prices("DESKHAND_MODEL_PRICES")
# Transient model-service faults (429, 5xx, timeouts, resets) are retried for this long per call.
MODEL_RETRY_SECONDS = _read("DESKHAND_MODEL_RETRY_SECONDS", env.float, 120.0)
# The same actions on an unchanged screen this many times: the model is told; twice as many: the
# execution ends `no_progress`. 0 turns the watch off.
NO_PROGRESS_REPEATS = _read("DESKHAND_NO_PROGRESS_REPEATS", env.int, 3)
# A replayed click waits at most this long for its target to show on the screen; after that the
# screen is taken to differ from the recording, and the model takes over.
REPLAY_WAIT_SECONDS = _read("DESKHAND_REPLAY_WAIT_SECONDS", env.float, 5.0)
OPENAI_API_KEY = _read("OPENAI_API_KEY", env.str, "")
OPENAI_BASE_URL = _url("OPENAI_BASE_URL", "https://api.openai.com/v1")
CODEX_BASE_URL = _url("DESKHAND_CODEX_BASE_URL", "https://chatgpt.com/backend-api/codex")
CODEX_ISSUER = _url("DESKHAND_CODEX_ISSUER", "https://auth.openai.com")
# The sign-in callback: the issuer only accepts http://localhost:1455/auth/callback.
CODEX_CALLBACK_PORT = _read("DESKHAND_CODEX_CALLBACK_PORT", env.int, 1455)
CODEX_HOME = Path(_read("CODEX_HOME", env.str, str(Path.home() / ".codex"))).expanduser()
# The agent's browser: a path to Chromium/Chrome/Edge (default: found on the system), or the
# loopback debugging address of a browser you started yourself.
BROWSER_PATH = _read("DESKHAND_BROWSER_PATH", env.str, "")
BROWSER_CDP_URL = _read("DESKHAND_BROWSER_CDP_URL", env.str, "")
# The port `serve` listens on (it sets this for its worker): the agent's browser never opens it.
SERVER_PORT = _read("DESKHAND_SERVER_PORT", env.int, 3333)
HTTPS_PROXY = _read("HTTPS_PROXY", env.str, "") or _read("https_proxy", env.str, "")
# Screenshots sent to the model: the longest edge at most this many pixels, PNG or JPEG.
SCREENSHOT_MAX_EDGE = _read("DESKHAND_SCREENSHOT_MAX_EDGE", env.int, 1600)
SCREENSHOT_FORMAT = _read("DESKHAND_SCREENSHOT_FORMAT", env.str, "png").lower()
if SCREENSHOT_FORMAT not in ("png", "jpeg"):
    raise ImproperlyConfigured(f"DESKHAND_SCREENSHOT_FORMAT is malformed: use png or jpeg, not {SCREENSHOT_FORMAT!r}")
# The live screen stream: frames per second at most, and the widest frame sent.
SCREEN_STREAM_FPS = _read("DESKHAND_SCREEN_STREAM_FPS", env.float, 8.0)
SCREEN_STREAM_MAX_WIDTH = _read("DESKHAND_SCREEN_STREAM_MAX_WIDTH", env.int, 1280)
# How often every process sweeps for executions whose heartbeat went stale (0: derived from the
# stale limit, so a dead execution is marked within about two stale periods).
SWEEP_SECONDS = _read("DESKHAND_SWEEP_SECONDS", env.float, 0.0)
# How often the live log stream looks for new lines in the log files.
LOG_STREAM_POLL_SECONDS = _read("DESKHAND_LOG_STREAM_POLL_SECONDS", env.float, 0.25)

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.auth.MiddlewareAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: forms and text/plain are what a cross-site page can send without a preflight.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.openapi.ApiAutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Deskhand API",
    "DESCRIPTION": "Let an OpenAI model operate this machine's desktop. Every call needs "
    "`Authorization: Bearer <token>`; streams are Server-Sent Events.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the installed package, not a CDN: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # One name per set of choices that several shapes share.
    "ENUM_NAME_OVERRIDES": {
        "AuthProviderEnum": "runs.models.AuthProvider",
        "RunStatusEnum": "runs.models.Run.Status",
        "SessionStatusEnum": "sessions.models.LiveSession.Status",
        "ConfirmationStatusEnum": "runs.models.Confirmation.Status",
        "RunKindEnum": ["run"],
        "SessionKindEnum": ["session"],
    },
}

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = _read("DESKHAND_LOG_LEVEL", env.str, "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"DESKHAND_LOG_LEVEL is malformed: {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "core.redact.RedactingFilter"}},
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "line", "filters": ["redact"]},
        "file": {
            # One file per process kind (web, worker): two processes rotating one file lose lines.
            "class": "core.logging.ProcessFileHandler",
            "directory": str(LOG_DIR),
            "formatter": "json",
            "filters": ["redact"],
            "maxBytes": 5_000_000,
            "backupCount": 5,
        },
    },
    "root": {"handlers": ["console", "file"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "daphne": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
    },
}
