"""The three ways to sign in with ChatGPT: browser (PKCE), device code, and import from the Codex CLI.

Browser: the same authorization-code flow the Codex CLI runs. The issuer only redirects to the
Codex client's registered URI, `http://localhost:1455/auth/callback`, so while (and only while) a
browser login is pending a one-shot listener serves that path on 127.0.0.1:1455. It checks
`state`, exchanges the code with the PKCE verifier, stores the tokens, and closes.

Device code: for a Deskhand whose browser is elsewhere. The user types a code at
`{issuer}/codex/device`; a background thread polls the issuer at its interval.

Import: copies the tokens of a `codex login` from `$CODEX_HOME/auth.json` into Deskhand's store.

A login is held in this process's memory (the web process owns the listener); it ends as
succeeded, failed, expired (after LOGIN_TTL_SECONDS) or cancelled (by logout or another method).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from agent.transports import ORIGINATOR
from core.errors import AppError, InvalidInput, Unavailable

from .codex_tokens import (
    CLIENT_ID,
    HTTP_TIMEOUT,
    CodexTokens,
    CodexTokenStore,
    StoredAuth,
    _iso,
    http_client,
    issuer_error,
    now_iso,
)

logger = logging.getLogger("deskhand.auth")

METHODS = ("browser", "device", "import")
DEFAULT_CALLBACK_PORT = 1455  # the port in the Codex client's registered redirect URI
LOGIN_TTL_SECONDS = 15 * 60  # the issuer's device codes live 15 minutes; browser logins the same
SCOPE = "openid profile email offline_access"
MIN_POLL_INTERVAL = 0.05


class CallbackPortBusy(AppError):
    code = "callback_port_busy"
    http_status = 409


class ImportUnavailable(AppError):
    """The request is fine; this machine has no Codex CLI sign-in to copy (a state, hence 409)."""

    code = "codex_import_unavailable"
    http_status = 409


# --- PKCE -------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge), shaped as the Codex CLI makes them."""
    verifier = _b64url(secrets.token_bytes(64))
    return verifier, _b64url(hashlib.sha256(verifier.encode()).digest())


# --- One login --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginConfig:
    """Settings captured when the login starts: its threads never read Django settings."""

    issuer: str
    data_dir: Path
    proxy: str = ""
    callback_port: int = DEFAULT_CALLBACK_PORT
    codex_home: Path | None = None

    @classmethod
    def from_settings(cls) -> LoginConfig:
        from django.conf import settings

        return cls(
            issuer=settings.CODEX_ISSUER.rstrip("/"),
            data_dir=Path(settings.DATA_DIR),
            proxy=settings.HTTPS_PROXY,
            callback_port=int(getattr(settings, "CODEX_CALLBACK_PORT", DEFAULT_CALLBACK_PORT)),
            codex_home=Path(settings.CODEX_HOME),
        )


@dataclass
class LoginState:
    method: str
    status: str = "pending"  # pending | succeeded | failed | expired | cancelled
    started_at: float = field(default_factory=time.time)
    expires_at: float = 0.0
    authorize_url: str | None = None
    verification_url: str | None = None
    user_code: str | None = None
    error: dict | None = None
    account_id: str | None = None
    finished_at: float | None = None
    # Private to the flow; never rendered.
    _state: str = field(default="", repr=False)
    _verifier: str = field(default="", repr=False)
    _redirect_uri: str = field(default="", repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    def to_dict(self) -> dict:
        data = {
            "status": self.status,
            "method": self.method,
            "startedAt": _iso(self.started_at),
            "expiresAt": _iso(self.expires_at) if self.expires_at else None,
        }
        if self.method == "browser":
            data["authorizeUrl"] = self.authorize_url
        if self.method == "device":
            data["verificationUrl"] = self.verification_url
            data["userCode"] = self.user_code
        if self.finished_at:
            data["finishedAt"] = _iso(self.finished_at)
        if self.account_id:
            data["accountId"] = self.account_id
        if self.error:
            data["error"] = self.error
        return data


_lock = threading.RLock()
_current: LoginState | None = None


def current_login() -> LoginState | None:
    """The latest login of this process (pending or finished), expiring it when its time is up."""
    with _lock:
        if _current and _current.pending and time.time() >= _current.expires_at:
            _finish(
                _current,
                "expired",
                error={"code": "login_expired", "message": "The sign-in was not completed in time. Start it again."},
            )
        return _current


def _finish(login: LoginState, status: str, *, error: dict | None = None, account_id: str | None = None) -> bool:
    """Move a pending login to its end state once; the first finisher wins (callback vs timer)."""
    with _lock:
        if not login.pending:
            return False
        login.status = status
        login.error = error
        login.account_id = account_id
        login.finished_at = time.time()
        login._cancel.set()
        server = login._server
        login._server = None
    if server is not None:
        # Not from the listener's own serving thread: shutdown() waits for that loop to end.
        threading.Thread(target=_close_server, args=(server,), daemon=True).start()
    if status != "succeeded":
        logger.info("ChatGPT sign-in (%s) ended: %s%s", login.method, status, f" ({error['code']})" if error else "")
    return True


def _close_server(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


def login_start(*, method: str, config: LoginConfig) -> LoginState:
    global _current
    if method not in METHODS:
        raise InvalidInput("method", f"unknown sign-in method {method!r}; expected one of {', '.join(METHODS)}")
    with _lock:
        existing = current_login()
        if existing and existing.pending:
            if existing.method == method:
                return existing  # a second click on "Sign in" shows the same login
            _finish(existing, "cancelled", error={"code": "replaced", "message": f"Replaced by a {method} sign-in"})
        if method == "import":
            login = _import(config)
        elif method == "browser":
            login = _start_browser(config)
        else:
            login = _start_device(config)
        _current = login
        return login


def login_cancel() -> bool:
    with _lock:
        login = _current
        if login and login.pending:
            return _finish(login, "cancelled", error={"code": "cancelled", "message": "Sign-in cancelled"})
    return False


def reset() -> None:
    """Cancel anything pending and forget the last login (tests, and a fresh start)."""
    global _current
    login_cancel()
    with _lock:
        _current = None


def _arm_expiry(login: LoginState) -> None:
    timer = threading.Timer(max(0.0, login.expires_at - time.time()), current_login)
    timer.daemon = True
    timer.start()


# --- Storing the result -----------------------------------------------------------------------


def exchange_code(config: LoginConfig, *, code: str, redirect_uri: str, verifier: str) -> CodexTokens:
    url = f"{config.issuer}/oauth/token"
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": CLIENT_ID,
        "code_verifier": verifier,
    }
    try:
        with http_client(url, proxy=config.proxy) as client:
            response = client.post(url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise Unavailable(f"Could not reach the ChatGPT sign-in service: {exc}", code="issuer_unreachable") from None
    if response.status_code != 200:
        err_code, message = issuer_error(response)
        raise AppError(f"The sign-in service refused the code ({err_code}: {message})", code=err_code)
    try:
        tokens = CodexTokens.from_response(response.json())
    except ValueError:
        raise AppError("The sign-in service answered with no JSON", code="issuer_bad_response") from None
    tokens.register()
    return tokens


def store_signed_in(config: LoginConfig, tokens: CodexTokens, *, method: str, last_refresh: str | None = None) -> None:
    store = CodexTokenStore(config.data_dir)
    with store.lock():  # never interleave with a refresh in another process
        store.save(
            StoredAuth(tokens=tokens, last_refresh=last_refresh or now_iso(), signed_in_at=now_iso(), method=method)
        )
    logger.info(
        "Signed in with ChatGPT via %s (account %s, plan %s)",
        method,
        tokens.account_id or "unknown",
        tokens.plan or "unknown",
    )


# --- Browser ----------------------------------------------------------------------------------

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Deskhand sign-in</title></head>
<body style="font-family:sans-serif;max-width:36em;margin:4em auto"><h1>{title}</h1><p>{text}</p></body></html>"""


def _start_browser(config: LoginConfig) -> LoginState:
    login = LoginState(method="browser", expires_at=time.time() + LOGIN_TTL_SECONDS)
    login._verifier, challenge = pkce_pair()
    login._state = _b64url(secrets.token_bytes(32))

    class Handler(_CallbackHandler):
        pass

    Handler.login, Handler.config = login, config
    try:
        server = ThreadingHTTPServer(("127.0.0.1", config.callback_port), Handler)
    except OSError as exc:
        raise CallbackPortBusy(
            f"Cannot listen on 127.0.0.1:{config.callback_port} for the sign-in callback ({exc.strerror}). "
            "Another program (a `codex login`?) holds it: finish or stop it, or sign in with "
            '{"method": "device"}.',
            details={"port": config.callback_port},
        ) from None
    server.daemon_threads = True
    port = server.server_address[1]
    login._redirect_uri = f"http://localhost:{port}/auth/callback"
    login.authorize_url = f"{config.issuer}/oauth/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": login._redirect_uri,
            "scope": SCOPE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "id_token_add_organizations": "true",
            "codex_cli_simplified_flow": "true",
            "state": login._state,
            "originator": ORIGINATOR,
        }
    )
    login._server = server
    threading.Thread(target=server.serve_forever, args=(0.1,), name="codex-login-callback", daemon=True).start()
    _arm_expiry(login)
    logger.info("ChatGPT sign-in (browser) started; callback listening on 127.0.0.1:%s", port)
    return login


class _CallbackHandler(BaseHTTPRequestHandler):
    login: LoginState
    config: LoginConfig

    def log_message(self, *args) -> None:
        # The default prints the query string, which carries the authorization code.
        pass

    def _page(self, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/auth/callback":
            self._page(404, "Not found", "This address only serves the Deskhand sign-in callback.")
            return
        login = self.login
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if current_login() is not login or not login.pending:
            self._page(410, "Sign-in no longer pending", "This sign-in has ended. Start a new one from Deskhand.")
            return
        if not secrets.compare_digest(query.get("state", ""), login._state):
            # Not ours (a stale tab or a forged link): refuse it and keep waiting for the real one.
            self._page(
                400,
                "State mismatch",
                "This callback does not belong to the pending Deskhand sign-in, so it was refused. The sign-in is still pending: finish it in the tab Deskhand opened.",
            )
            return
        if "error" in query:
            code = query["error"]
            message = query.get("error_description") or code
            if "missing_codex_entitlement" in message:
                message = "Codex is not enabled for your ChatGPT workspace. Ask its admin to enable Codex."
            _finish(login, "failed", error={"code": code, "message": message})
            self._page(400, "Sign-in failed", message)
            return
        code = query.get("code")
        if not code:
            self._page(400, "Missing code", "The callback carries no authorization code. The sign-in is still pending.")
            return
        try:
            tokens = exchange_code(self.config, code=code, redirect_uri=login._redirect_uri, verifier=login._verifier)
            store_signed_in(self.config, tokens, method="browser")
        except AppError as exc:
            _finish(login, "failed", error={"code": exc.code, "message": exc.message})
            self._page(400, "Sign-in failed", exc.message)
            return
        _finish(login, "succeeded", account_id=tokens.account_id)
        self._page(200, "Signed in", "Deskhand is signed in with ChatGPT. You can close this tab.")


# --- Device code ------------------------------------------------------------------------------


def _start_device(config: LoginConfig) -> LoginState:
    url = f"{config.issuer}/api/accounts/deviceauth/usercode"
    try:
        with http_client(url, proxy=config.proxy) as client:
            response = client.post(url, json={"client_id": CLIENT_ID})
    except httpx.HTTPError as exc:
        raise Unavailable(f"Could not reach the ChatGPT sign-in service: {exc}", code="issuer_unreachable") from None
    if response.status_code == 404:
        raise Unavailable(
            'The sign-in service does not offer device-code sign-in; use {"method": "browser"}',
            code="device_login_unavailable",
        )
    if response.status_code != 200:
        err_code, message = issuer_error(response)
        raise Unavailable(
            f"The sign-in service refused a device code ({err_code}: {message})", code="device_login_unavailable"
        )
    data = response.json()
    user_code = data.get("user_code") or data.get("usercode")
    device_auth_id = data.get("device_auth_id")
    if not user_code or not device_auth_id:
        raise Unavailable("The sign-in service answered without a device code", code="device_login_unavailable")
    try:
        interval = max(float(data.get("interval") or 5), MIN_POLL_INTERVAL)
    except (TypeError, ValueError):
        interval = 5.0
    login = LoginState(
        method="device",
        expires_at=time.time() + LOGIN_TTL_SECONDS,
        verification_url=f"{config.issuer}/codex/device",
        user_code=user_code,
    )
    threading.Thread(
        target=_poll_device,
        args=(login, config, device_auth_id, user_code, interval),
        name="codex-device-poll",
        daemon=True,
    ).start()
    _arm_expiry(login)
    logger.info("ChatGPT sign-in (device code) started")
    return login


def _poll_device(login: LoginState, config: LoginConfig, device_auth_id: str, user_code: str, interval: float) -> None:
    url = f"{config.issuer}/api/accounts/deviceauth/token"
    with http_client(url, proxy=config.proxy, timeout=HTTP_TIMEOUT) as client:
        # wait() returns True once the login ended (cancelled, expired, replaced): stop polling.
        while not login._cancel.wait(interval):
            if time.time() >= login.expires_at:
                current_login()
                return
            try:
                response = client.post(url, json={"device_auth_id": device_auth_id, "user_code": user_code})
            except httpx.HTTPError:
                continue  # a network blip: the code is still valid, poll again
            if response.status_code in (403, 404):
                continue  # not approved yet
            if response.status_code != 200:
                err_code, message = issuer_error(response)
                _finish(login, "failed", error={"code": err_code, "message": message})
                return
            data = response.json()
            try:
                tokens = exchange_code(
                    config,
                    code=data.get("authorization_code", ""),
                    redirect_uri=f"{config.issuer}/deviceauth/callback",
                    verifier=data.get("code_verifier", ""),
                )
                if not login.pending:
                    return  # cancelled while exchanging: do not sign in behind the user's back
                store_signed_in(config, tokens, method="device")
            except AppError as exc:
                _finish(login, "failed", error={"code": exc.code, "message": exc.message})
                return
            _finish(login, "succeeded", account_id=tokens.account_id)
            return


# --- Import -----------------------------------------------------------------------------------


def read_codex_cli_tokens(codex_home: Path) -> tuple[CodexTokens, str | None]:
    """The ChatGPT tokens of the Codex CLI's `auth.json`, with its last refresh time."""
    path = Path(codex_home) / "auth.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportUnavailable(
            f"No Codex CLI sign-in to import: {path} does not exist. Run `codex login` first, or sign in with "
            '{"method": "browser"} or {"method": "device"}.',
            details={"path": str(path), "problem": "missing"},
        ) from None
    except (OSError, ValueError) as exc:
        raise ImportUnavailable(
            f"Cannot read {path}: {exc}", details={"path": str(path), "problem": "unreadable"}
        ) from None
    tokens = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(tokens, dict) or not tokens.get("access_token") or not tokens.get("refresh_token"):
        raise ImportUnavailable(
            f"{path} holds no ChatGPT tokens (the Codex CLI may be using an API key). Run `codex login` with "
            'ChatGPT first, or sign in here with {"method": "browser"}.',
            details={"path": str(path), "problem": "no_tokens"},
        )
    try:
        parsed = CodexTokens.from_response(tokens)
    except AppError as exc:
        raise ImportUnavailable(f"{path}: {exc.message}", details={"path": str(path), "problem": "no_tokens"}) from None
    parsed.register()
    return parsed, data.get("last_refresh")


def codex_cli_tokens_available(codex_home: Path | None) -> bool:
    if codex_home is None:
        return False
    try:
        read_codex_cli_tokens(codex_home)
    except AppError:
        return False
    return True


def _import(config: LoginConfig) -> LoginState:
    tokens, last_refresh = read_codex_cli_tokens(config.codex_home or Path.home() / ".codex")
    store_signed_in(config, tokens, method="import", last_refresh=last_refresh)
    login = LoginState(method="import", status="succeeded", account_id=tokens.account_id)
    login.finished_at = login.started_at
    return login
