"""Secret masking for everything that leaves the process: log lines, events, error bodies, replays.

Two nets: the exact values this process knows to be secret (API token, API key, OAuth tokens as
they are loaded), and patterns for secrets it has never seen (an `sk-…` key pasted into an
instruction, a JWT in a provider's error message).
"""

import contextlib
import functools
import logging
import re
from urllib.parse import urlsplit

MASK = "***"

_known_secrets: set[str] = set()

_PATTERNS = [
    re.compile(r"sk-[A-Za-z0-9_\-]{16,}"),  # OpenAI keys
    re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),  # JWTs (OAuth tokens)
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-~+/=]{8,}"),
    # Credentials inside any URL (a database, broker, Redis or proxy URL in an error message).
    re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s/@:]*:)[^\s/@]+(?=@)"),
    re.compile(
        r"(?i)(\"?(?:access_token|refresh_token|id_token|api_key|password|client_secret)\"?\s*[:=]\s*\"?)[^\s\",}]{4,}"
    ),
]


def register_secret(value: str | None) -> None:
    """Mask this exact value from now on (short values are ignored: they would mask ordinary words)."""
    if value and len(value) >= 8:
        _known_secrets.add(value)


@contextlib.contextmanager
def masked_while(values):
    """Mask these values too while the block runs: a run's secret inputs, in the worker executing it.

    Shorter values than `register_secret` takes (4 characters and up): a password is short, and the
    block is one run.
    """
    added = {value for value in values if value and len(value) >= 4 and value not in _known_secrets}
    _known_secrets.update(added)
    try:
        yield
    finally:
        _known_secrets.difference_update(added)


def _known() -> tuple[str, ...]:
    # Settings' secrets are registered lazily so this module imports without Django configured.
    try:
        from django.conf import settings

        if settings.configured:
            register_secret(getattr(settings, "API_TOKEN", None))
            register_secret(getattr(settings, "OPENAI_API_KEY", None))
            register_secret(getattr(settings, "SECRET_KEY", None))
            # Every other secret the configuration can hold: passwords inside the service URLs.
            register_secret(settings.DATABASES["default"].get("PASSWORD"))
            for name in ("CELERY_BROKER_URL", "REDIS_URL", "HTTPS_PROXY"):
                register_secret(_url_password(getattr(settings, name, "") or ""))
    except Exception:  # noqa: BLE001 - masking must never break the caller
        pass
    return tuple(_known_secrets)  # a copy: another thread may add or remove one meanwhile


@functools.lru_cache(maxsize=16)
def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def redact(text: str) -> str:
    if not text:
        return text
    for secret in _known():
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


def redact_data(value):
    """The same masking applied to every string inside JSON-like data."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(item) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """Masks secrets in every record before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is logged as it is
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
