"""What the providers look like from outside: sign-in status and whether each endpoint answers.

Nothing here returns a token or key, not even a prefix: `configured: true` says enough.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from agent.transports import ORIGINATOR
from core.redact import redact

from . import codex_login
from .codex_tokens import (
    CodexRefreshFailed,
    CodexSignedOut,
    CodexTokenFileInsecure,
    CodexTokenSource,
    CodexTokenStore,
    _iso,
    http_client,
)

# `/models` on the Codex backend requires a client version; any recent Codex release works.
CODEX_CLIENT_VERSION = "0.98.0"
# Rate-limit headroom below this share left reads as degraded.
LOW_HEADROOM_PERCENT = 10.0


def auth_status() -> dict:
    return {
        "providers": {
            "api-key": {"configured": bool(settings.OPENAI_API_KEY), "baseUrl": settings.OPENAI_BASE_URL},
            "codex-oauth": codex_status(),
        }
    }


def codex_status() -> dict:
    status = {
        "signedIn": False,
        "accountId": None,
        "email": None,
        "plan": None,
        "expiresAt": None,
        "lastRefresh": None,
        "signedInAt": None,
        "method": None,
        "lastError": None,
        "baseUrl": settings.CODEX_BASE_URL,
        "importAvailable": codex_login.codex_cli_tokens_available(settings.CODEX_HOME),
        "login": None,
    }
    login = codex_login.current_login()
    if login is not None:
        status["login"] = login.to_dict()
    try:
        state = CodexTokenStore(settings.DATA_DIR).load()
    except CodexTokenFileInsecure as exc:
        status["lastError"] = {"code": exc.code, "message": exc.reason}
        return status
    if state is None:
        return status
    tokens = state.tokens
    status.update(
        signedIn=tokens is not None,
        lastRefresh=state.last_refresh,
        signedInAt=state.signed_in_at,
        method=state.method,
        lastError=state.last_error,
    )
    if tokens is not None:
        status.update(
            accountId=tokens.account_id or None, email=tokens.email, plan=tokens.plan, expiresAt=_iso(tokens.expires_at)
        )
    return status


def codex_missing_credentials() -> str | None:
    """Why codex-oauth cannot be used right now (a message that says what to do), or None.

    Cheap (reads the token file, no network): for refusing a run up front rather than failing it
    in the worker. An expired access token is not "missing": the engine refreshes it.
    """
    try:
        CodexTokenSource._signed_in(CodexTokenStore(settings.DATA_DIR).load())
    except CodexSignedOut as exc:
        return exc.message
    return None


# --- Health -----------------------------------------------------------------------------------


def proxy_health(*, timeout: float = 2.0) -> dict:
    """Per provider: does its endpoint answer, is our credential accepted, how much quota is left.

    Each entry is {"status": "ok"|"degraded"|"down"|"not_configured", "reason": ...} plus details.
    """
    return {
        "api-key": _api_key_health(timeout),
        "codex-oauth": _codex_health(timeout),
        "https-proxy": _https_proxy_health(timeout),
    }


def _api_key_health(timeout: float) -> dict:
    if not settings.OPENAI_API_KEY:
        return {"status": "not_configured", "reason": "OPENAI_API_KEY is not set"}
    url = f"{settings.OPENAI_BASE_URL.rstrip('/')}/models"
    return _probe(url, {"Authorization": f"Bearer {settings.OPENAI_API_KEY}"}, timeout, "API key")


def _codex_health(timeout: float) -> dict:
    source = CodexTokenSource.from_settings()
    try:
        # get() refreshes an expiring token first, as a model call would.
        access_token, account_id = source.get()
    except CodexTokenFileInsecure as exc:
        return {"status": "down", "reason": exc.reason}
    except CodexSignedOut as exc:
        if exc.reason:
            return {
                "status": "down",
                "reason": f"signed out: {exc.reason}; sign in again with POST /api/auth/codex/login",
            }
        return {"status": "not_configured", "reason": "not signed in with ChatGPT (POST /api/auth/codex/login)"}
    except CodexRefreshFailed as exc:
        return {"status": "down", "reason": redact(exc.message)}
    url = f"{settings.CODEX_BASE_URL.rstrip('/')}/models?client_version={CODEX_CLIENT_VERSION}"
    headers = {"Authorization": f"Bearer {access_token}", "ChatGPT-Account-ID": account_id, "originator": ORIGINATOR}
    return _probe(url, headers, timeout, "ChatGPT access token")


def _probe(url: str, headers: dict, timeout: float, credential: str) -> dict:
    shown_url = url.split("?")[0]
    started = time.monotonic()
    try:
        with http_client(url, proxy=settings.HTTPS_PROXY, timeout=timeout) as client:
            response = client.get(url, headers={"Accept": "application/json", **headers})
    except httpx.TimeoutException:
        return {
            "status": "down",
            "reason": f"no answer from {shown_url} within {timeout:g}s",
            "url": shown_url,
            "reachable": False,
            "authAccepted": None,
        }
    except httpx.HTTPError as exc:
        return {
            "status": "down",
            "reason": redact(f"unreachable: {type(exc).__name__}: {exc}"),
            "url": shown_url,
            "reachable": False,
            "authAccepted": None,
        }
    result = {
        "url": shown_url,
        "reachable": True,
        "httpStatus": response.status_code,
        "latencyMs": round((time.monotonic() - started) * 1000),
        "authAccepted": response.status_code not in (401, 403),
        "rateLimit": _rate_limit(response.headers),
    }
    code = response.status_code
    if code in (401, 403):
        status, reason = "down", f"the {credential} was rejected (HTTP {code})"
    elif code == 429:
        status, reason = "degraded", "rate limited or out of quota (HTTP 429)"
    elif code >= 500 or code >= 400:
        status, reason = "degraded", f"the endpoint answers HTTP {code}"
    else:
        status, reason = "ok", "reachable and the credential is accepted"
        low = _low_headroom(result["rateLimit"])
        if low:
            status, reason = "degraded", low
    return {"status": status, "reason": reason, **result}


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _rate_limit(headers: httpx.Headers) -> dict | None:
    limits = {}
    for window in ("primary", "secondary"):
        used = _float(headers.get(f"x-codex-{window}-used-percent"))
        if used is not None:
            limits[window] = {
                "usedPercent": used,
                "windowMinutes": _float(headers.get(f"x-codex-{window}-window-minutes")),
                "resetAfterSeconds": _float(headers.get(f"x-codex-{window}-reset-after-seconds")),
            }
    for kind in ("requests", "tokens"):
        remaining = _float(headers.get(f"x-ratelimit-remaining-{kind}"))
        if remaining is not None:
            limits[kind] = {"remaining": remaining, "limit": _float(headers.get(f"x-ratelimit-limit-{kind}"))}
    return limits or None


def _low_headroom(limits: dict | None) -> str | None:
    for window in ("primary", "secondary"):
        entry = (limits or {}).get(window)
        if entry and entry["usedPercent"] >= 100 - LOW_HEADROOM_PERCENT:
            return f"{window} usage window {entry['usedPercent']:g}% used"
    for kind in ("requests", "tokens"):
        entry = (limits or {}).get(kind)
        if entry and entry["limit"] and entry["remaining"] / entry["limit"] * 100 < LOW_HEADROOM_PERCENT:
            return f"{entry['remaining']:g} of {entry['limit']:g} {kind} left in the rate-limit window"
        if entry and not entry["limit"] and entry["remaining"] == 0:
            return f"no {kind} left in the rate-limit window"
    return None


def _https_proxy_health(timeout: float) -> dict:
    proxy = settings.HTTPS_PROXY
    if not proxy:
        return {"status": "not_configured", "reason": "HTTPS_PROXY is not set"}
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    # Credentials in the proxy URL are not shown.
    shown = f"{parts.scheme}://{parts.hostname}:{parts.port or 80}"
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout):
            pass
    except OSError as exc:
        return {"status": "down", "reason": f"cannot connect to {shown}: {exc.strerror or exc}", "url": shown}
    return {"status": "ok", "reason": "accepts connections", "url": shown}
