"""ChatGPT ("Sign in with ChatGPT") tokens: the store on disk and the source the engine reads.

The tokens live in one file, `$DESKHAND_DATA_DIR/codex-auth.json`, written atomically with mode
0600 and refused when group or others can read it. They never go into the database: a row would
end up in backups and in the admin.

Refresh tokens rotate and are single-use: presenting one twice gets `refresh_token_reused` and the
whole sign-in is gone. The web process and the worker both make model calls, so every refresh
happens under an exclusive file lock on `codex-auth.lock` (agent.platform.files) and re-reads the file after taking it; a
process that finds the token already rotated by the other one uses the new token instead of
refreshing again.

This module imports no Django (the engine and a plain subprocess use it); `from_settings()` is the
one place that reads Django settings.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from agent.errors import AuthMissing, TransportFailure
from agent.platform.files import cross_process_lock
from core.errors import AppError
from core.files import InsecureFileError, read_private_file, write_private_file
from core.redact import register_secret

logger = logging.getLogger("deskhand.auth")

# The Codex CLI's public OAuth client: the issuer only accepts its redirect URIs
# (http://localhost:1455/auth/callback) and its device flow for this id.
CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
AUTH_CLAIM = "https://api.openai.com/auth"
STORE_FILENAME = "codex-auth.json"
LOCK_FILENAME = "codex-auth.lock"
# Refresh this long before the access token's `exp`, so a request that starts just before expiry
# does not reach the backend with a token that dies on the way.
REFRESH_MARGIN_SECONDS = 300
# When the access token carries no readable `exp`, refresh on the Codex CLI's cadence.
REFRESH_INTERVAL_WITHOUT_EXP = 8 * 24 * 3600
HTTP_TIMEOUT = 20.0

# What the issuer answers when a refresh token can never work again: a new sign-in is needed.
PERMANENT_REFRESH_ERRORS = {
    "refresh_token_reused",
    "refresh_token_expired",
    "refresh_token_invalidated",
    "invalid_grant",
}

SIGN_IN_HINT = "Sign in with ChatGPT: POST /api/auth/codex/login"


class CodexSignedOut(AuthMissing, AppError):
    """No usable ChatGPT sign-in: never signed in, signed out, or the issuer refused the refresh.

    Both an engine error (the engine reports it as a run's error event) and an AppError (the API
    renders it): the engine's transport calls this source directly.
    """

    code = "codex_signed_out"
    http_status = 409

    def __init__(self, reason: str = "", *, code: str | None = None, details: dict | None = None):
        message = "Not signed in with ChatGPT"
        if reason:
            message += f" ({reason})"
        _init_error(self, f"{message}. {SIGN_IN_HINT}", code=code, details=details)
        self.reason = reason


class CodexTokenFileInsecure(CodexSignedOut):
    code = "codex_token_file_insecure"


class CodexRefreshFailed(TransportFailure, AppError):
    """The issuer could not be reached or answered oddly: the sign-in is kept, try again later."""

    code = "codex_refresh_failed"
    http_status = 503

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        _init_error(self, message, code=code, details=details)


def _init_error(error: AppError, message: str, *, code: str | None, details: dict | None) -> None:
    # One initialiser for both parents' attributes (code, message, details).
    Exception.__init__(error, message)
    error.message = message
    error.code = code or type(error).code
    error.details = details or {}


# --- JWT claims ---------------------------------------------------------------------------------


def jwt_claims(token: str | None) -> dict:
    """The payload of a JWT, unverified: we only read our own tokens' claims (the issuer signed them,
    TLS brought them), never to decide who someone is. Anything malformed reads as no claims."""
    if not token or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _auth_claim(token: str | None) -> dict:
    claim = jwt_claims(token).get(AUTH_CLAIM)
    return claim if isinstance(claim, dict) else {}


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_iso(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# --- The stored state ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CodexTokens:
    id_token: str
    access_token: str
    refresh_token: str
    account_id: str

    @classmethod
    def from_response(cls, data: dict, *, previous: CodexTokens | None = None) -> CodexTokens:
        """Tokens from an issuer answer; a refresh may omit the id or refresh token (keep the old)."""
        id_token = data.get("id_token") or (previous.id_token if previous else "")
        access_token = data.get("access_token") or ""
        refresh_token = data.get("refresh_token") or (previous.refresh_token if previous else "")
        if not access_token or not refresh_token:
            raise CodexRefreshFailed("The issuer's answer holds no access or refresh token")
        account_id = (
            _auth_claim(id_token).get("chatgpt_account_id")
            or _auth_claim(access_token).get("chatgpt_account_id")
            or data.get("account_id")
            or (previous.account_id if previous else "")
        )
        return cls(
            id_token=id_token, access_token=access_token, refresh_token=refresh_token, account_id=account_id or ""
        )

    @property
    def plan(self) -> str | None:
        return _auth_claim(self.id_token).get("chatgpt_plan_type") or _auth_claim(self.access_token).get(
            "chatgpt_plan_type"
        )

    @property
    def email(self) -> str | None:
        claims = jwt_claims(self.id_token)
        profile = claims.get("https://api.openai.com/profile")
        return claims.get("email") or (profile.get("email") if isinstance(profile, dict) else None)

    @property
    def expires_at(self) -> float | None:
        exp = jwt_claims(self.access_token).get("exp")
        return float(exp) if isinstance(exp, (int, float)) else None

    def register(self) -> None:
        for value in (self.id_token, self.access_token, self.refresh_token):
            register_secret(value)


@dataclass(frozen=True)
class StoredAuth:
    """The file's content: tokens when signed in, and what happened last (kept after a sign-out)."""

    tokens: CodexTokens | None = None
    last_refresh: str | None = None
    signed_in_at: str | None = None
    method: str | None = None
    # {"code", "message", "at"}: why the last refresh failed or why we were signed out.
    last_error: dict | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        data = {
            "version": 1,
            "tokens": asdict(self.tokens) if self.tokens else None,
            "last_refresh": self.last_refresh,
            "signed_in_at": self.signed_in_at,
            "method": self.method,
            "last_error": self.last_error,
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> StoredAuth:
        data = json.loads(text)
        tokens = data.get("tokens")
        parsed = None
        if isinstance(tokens, dict) and tokens.get("access_token") and tokens.get("refresh_token"):
            parsed = CodexTokens(
                id_token=tokens.get("id_token") or "",
                access_token=tokens["access_token"],
                refresh_token=tokens["refresh_token"],
                account_id=tokens.get("account_id") or "",
            )
            parsed.register()
        return cls(
            tokens=parsed,
            last_refresh=data.get("last_refresh"),
            signed_in_at=data.get("signed_in_at"),
            method=data.get("method"),
            last_error=data.get("last_error"),
        )


def now_iso() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def error_record(code: str, message: str) -> dict:
    return {"code": code, "message": message, "at": now_iso()}


class CodexTokenStore:
    """The token file and its lock file, both in the data dir."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / STORE_FILENAME
        self.lock_path = self.data_dir / LOCK_FILENAME

    def load(self) -> StoredAuth | None:
        """The stored state, None when there is no file. Raises CodexTokenFileInsecure."""
        try:
            text = read_private_file(self.path)
        except InsecureFileError as exc:
            raise CodexTokenFileInsecure(str(exc), details={"path": str(self.path)}) from None
        if text is None:
            return None
        try:
            return StoredAuth.from_json(text)
        except (ValueError, TypeError, AttributeError):
            # A damaged file is a sign-out with a reason, not a crash on every model call.
            return StoredAuth(last_error=error_record("token_file_unreadable", f"{self.path} is not valid JSON"))

    def load_ignoring_permissions(self) -> StoredAuth | None:
        """For logout only: a file others could read is revoked and deleted, not refused."""
        try:
            return StoredAuth.from_json(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, AttributeError):
            return None

    def save(self, state: StoredAuth) -> None:
        write_private_file(self.path, state.to_json())

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive across processes (web, worker, CLI): held around every read-refresh-write."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with cross_process_lock(self.lock_path):
            yield


# --- HTTP to the issuer -------------------------------------------------------------------------


def http_client(url: str, *, proxy: str = "", timeout: float = HTTP_TIMEOUT) -> httpx.Client:
    """A client for `url`: through the configured HTTPS proxy, except for loopback addresses
    (a local fake or a local Codex proxy is never reached through a corporate proxy)."""
    host = urlsplit(url).hostname or ""
    loopback = host in {"localhost", "::1"} or host.startswith("127.")
    return httpx.Client(timeout=timeout, proxy=None if (loopback or not proxy) else proxy, trust_env=False)


def issuer_error(response: httpx.Response) -> tuple[str, str]:
    """(code, message) from an OAuth error body in either shape the issuer uses:
    {"error": "code", "error_description": "..."} or {"error": {"code": "...", "message": "..."}}."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type") or ""
        message = error.get("message") or ""
    else:
        code = error if isinstance(error, str) else ""
        message = body.get("error_description", "") if isinstance(body, dict) else ""
    return code or f"http_{response.status_code}", message or f"HTTP {response.status_code}"


# --- The engine's token source ------------------------------------------------------------------


class CodexTokenSource:
    """What the `codex-oauth` transport asks for an access token and account id."""

    def __init__(self, *, data_dir: Path, issuer: str, proxy: str = "", margin: float = REFRESH_MARGIN_SECONDS):
        self.store = CodexTokenStore(data_dir)
        self.issuer = issuer.rstrip("/")
        self.proxy = proxy
        self.margin = margin

    @classmethod
    def from_settings(cls) -> CodexTokenSource:
        from django.conf import settings

        return cls(data_dir=settings.DATA_DIR, issuer=settings.CODEX_ISSUER, proxy=settings.HTTPS_PROXY)

    # The protocol ---------------------------------------------------------------------------

    def get(self) -> tuple[str, str]:
        state = self.store.load()
        tokens = self._signed_in(state)
        if not self._stale(tokens, state):
            return tokens.access_token, tokens.account_id
        with self.store.lock():
            state = self.store.load()
            tokens = self._signed_in(state)
            if not self._stale(tokens, state):
                return tokens.access_token, tokens.account_id  # another process refreshed meanwhile
            tokens = self._refresh(state, tokens)
        return tokens.access_token, tokens.account_id

    def refresh_after_unauthorized(self, rejected_access_token: str) -> tuple[str, str]:
        with self.store.lock():
            state = self.store.load()
            tokens = self._signed_in(state)
            if tokens.access_token != rejected_access_token:
                # Another process rotated the token since this one was handed out: use it.
                return tokens.access_token, tokens.account_id
            tokens = self._refresh(state, tokens)
        return tokens.access_token, tokens.account_id

    # Internals -----------------------------------------------------------------------------

    @staticmethod
    def _signed_in(state: StoredAuth | None) -> CodexTokens:
        if state is None:
            raise CodexSignedOut()
        if state.tokens is None:
            reason = (state.last_error or {}).get("code", "")
            raise CodexSignedOut(reason, details={"lastError": state.last_error} if state.last_error else None)
        return state.tokens

    def _stale(self, tokens: CodexTokens, state: StoredAuth | None) -> bool:
        expires_at = tokens.expires_at
        if expires_at is not None:
            return expires_at - time.time() <= self.margin
        last = _parse_iso(state.last_refresh if state else None)
        return last is None or time.time() - last >= REFRESH_INTERVAL_WITHOUT_EXP

    def _refresh(self, stored: StoredAuth | None, tokens: CodexTokens) -> CodexTokens:
        """Exchange the refresh token once. Caller holds the lock and read `tokens` from `stored`."""
        state = stored or StoredAuth(tokens=tokens)
        url = f"{self.issuer}/oauth/token"
        body = {"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        try:
            with http_client(url, proxy=self.proxy) as client:
                response = client.post(url, json=body, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            self.store.save(
                replace(state, last_error=error_record("refresh_unreachable", f"{type(exc).__name__}: {exc}"))
            )
            raise CodexRefreshFailed(
                f"Could not reach the ChatGPT sign-in service to refresh the token: {exc}"
            ) from None

        if response.status_code == 200:
            try:
                fresh = CodexTokens.from_response(response.json(), previous=tokens)
            except ValueError:
                fresh = None
            if fresh is None:
                raise CodexRefreshFailed("The ChatGPT sign-in service answered the refresh with no JSON")
            fresh.register()
            self.store.save(replace(state, tokens=fresh, last_refresh=now_iso(), last_error=None))
            logger.info("ChatGPT access token refreshed (account %s)", fresh.account_id)
            return fresh

        code, message = issuer_error(response)
        if code in PERMANENT_REFRESH_ERRORS or response.status_code == 401:
            # The refresh token is dead: keep only the reason, so status can say why.
            self.store.save(StoredAuth(last_error=error_record(code, message), method=state.method))
            logger.warning("ChatGPT sign-in lost: the refresh was refused (%s: %s)", code, message)
            raise CodexSignedOut(code, details={"lastError": {"code": code, "message": message}})
        self.store.save(replace(state, last_error=error_record(code, message)))
        raise CodexRefreshFailed(f"Refreshing the ChatGPT token failed ({code}: {message})")
