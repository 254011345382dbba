"""A fake ChatGPT OAuth issuer (auth.openai.com) on loopback: a real threaded HTTP server.

Speaks the wire format the Codex CLI uses:
- `GET  /oauth/authorize`   PKCE S256; redirects to `redirect_uri?code=…&state=…`
- `POST /oauth/token`       authorization_code (form body, PKCE verified, codes single-use and
                            expiring) and refresh_token (JSON body; refresh tokens rotate, are
                            single-use, and a reused one answers 401 `refresh_token_reused`)
- `POST /oauth/revoke`      RFC 7009 (form or JSON); a revoked refresh token then answers 401
                            `refresh_token_invalidated`
- `POST /api/accounts/deviceauth/usercode` and `/api/accounts/deviceauth/token` (403 while
                            pending, until the test calls `approve_device()`)

Tokens are JWT-shaped (unsigned) with `exp` and the `https://api.openai.com/auth` claim.
`counts` tells how many requests of each kind arrived ("refreshed exactly once").

    with FakeOAuthIssuer() as issuer:
        settings.CODEX_ISSUER = issuer.url
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
AUTH_CLAIM = "https://api.openai.com/auth"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(secrets.token_bytes(16))}"


class FakeOAuthIssuer:
    def __init__(self, *, account_id: str = "acct-fake-123", plan: str = "plus", email: str = "user@example.com"):
        self.account_id = account_id
        self.plan = plan
        self.email = email
        self.access_ttl = 3600.0  # seconds an access token lives
        self.code_ttl = 600.0  # seconds an authorization code lives
        self.device_interval = "0.05"  # what usercode answers as the poll interval (a string, as upstream)
        self.refresh_delay = 0.0  # seconds a refresh takes: widens a race window on purpose
        self.authorize_error: str | None = None  # e.g. "access_denied": authorize redirects with it
        self.counts: Counter = Counter()
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.revoked: list[str] = []
        self.issued_access_tokens: list[str] = []
        self.issued_tokens: list[str] = []  # every id, access and refresh token handed out
        self._codes: dict[str, dict] = {}
        self._refresh_tokens: dict[str, str] = {}  # token -> "live" | "used" | "revoked"
        self._devices: dict[str, dict] = {}  # device_auth_id -> {user_code, approved}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeOAuthIssuer:
        issuer = self

        class Handler(_Handler):
            fake = issuer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-oauth-issuer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOAuthIssuer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # What a test does -----------------------------------------------------------------------

    def issue_tokens(self, *, access_ttl: float | None = None) -> dict:
        """A fresh token set, as the token endpoint would answer (also for seeding a store)."""
        now = time.time()
        auth = {"chatgpt_account_id": self.account_id, "chatgpt_plan_type": self.plan, "chatgpt_user_id": "user-fake"}
        ttl = self.access_ttl if access_ttl is None else access_ttl
        access = make_jwt({"exp": int(now + ttl), "iat": int(now), "jti": secrets.token_hex(8), AUTH_CLAIM: auth})
        id_token = make_jwt({"exp": int(now + 3600), "iat": int(now), "email": self.email, AUTH_CLAIM: auth})
        refresh = "rt_" + secrets.token_urlsafe(24)
        with self._lock:
            self._refresh_tokens[refresh] = "live"
            self.issued_access_tokens.append(access)
            self.issued_tokens += [id_token, access, refresh]
        return {
            "id_token": id_token,
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": int(ttl),
        }

    def approve_device(self, user_code: str) -> None:
        with self._lock:
            for device in self._devices.values():
                if device["user_code"] == user_code:
                    device["approved"] = True
                    return
        raise KeyError(user_code)

    def revoke_refresh_token(self, token: str) -> None:
        with self._lock:
            self._refresh_tokens[token] = "revoked"

    def expire_codes(self) -> None:
        with self._lock:
            for code in self._codes.values():
                code["expires_at"] = 0

    def _count(self, name: str) -> None:
        with self._lock:  # two concurrent refreshes must both be counted
            self.counts[name] += 1

    # Endpoints ------------------------------------------------------------------------------

    def authorize(self, query: dict) -> tuple[int, dict, dict | None]:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return 400, {}, {"error": "invalid_request", "error_description": "bad client_id or response_type"}
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {}, {"error": "invalid_request", "error_description": "PKCE S256 required"}
        if self.authorize_error:
            params = {
                "error": self.authorize_error,
                "error_description": f"{self.authorize_error} (fake)",
                "state": query.get("state", ""),
            }
            return 302, {"Location": f"{redirect_uri}?{urlencode(params)}"}, None
        code = "ac_" + secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = {
                "challenge": query["code_challenge"],
                "redirect_uri": redirect_uri,
                "expires_at": time.time() + self.code_ttl,
                "used": False,
            }
        params = {"code": code, "state": query.get("state", "")}
        return 302, {"Location": f"{redirect_uri}?{urlencode(params)}"}, None

    def token(self, body: dict) -> tuple[int, dict]:
        grant = body.get("grant_type")
        if body.get("client_id") != CLIENT_ID:
            return 401, {"error": "invalid_client", "error_description": "unknown client_id"}
        if grant == "authorization_code":
            self._count("authorization_code")
            with self._lock:
                entry = self._codes.get(body.get("code", ""))
                if entry is None or entry["used"]:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "authorization code unknown or already used",
                    }
                entry["used"] = True
                if entry["expires_at"] < time.time():
                    return 400, {"error": "invalid_grant", "error_description": "authorization code expired"}
                if entry["redirect_uri"] != body.get("redirect_uri"):
                    return 400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}
                challenge = _b64(hashlib.sha256(body.get("code_verifier", "").encode()).digest())
                if challenge != entry["challenge"]:
                    return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
            return 200, self.issue_tokens()
        if grant == "refresh_token":
            self._count("refresh")
            if self.refresh_delay:
                time.sleep(self.refresh_delay)
            token = body.get("refresh_token", "")
            with self._lock:
                state = self._refresh_tokens.get(token)
                if state == "live":
                    self._refresh_tokens[token] = "used"
            if state == "used":
                return 401, {
                    "error": {
                        "code": "refresh_token_reused",
                        "message": "Your refresh token has already been used to generate a new access token. Please try signing in again.",
                        "type": "invalid_request_error",
                    }
                }
            if state != "live":
                return 401, {
                    "error": {
                        "code": "refresh_token_invalidated",
                        "message": "Your refresh token has been invalidated. Please try signing in again.",
                        "type": "invalid_request_error",
                    }
                }
            tokens = self.issue_tokens()
            return 200, {k: tokens[k] for k in ("id_token", "access_token", "refresh_token")}
        return 400, {"error": "unsupported_grant_type"}

    def revoke(self, body: dict) -> tuple[int, dict]:
        self._count("revoke")
        token = body.get("token", "")
        with self._lock:
            self.revoked.append(token)
            if token in self._refresh_tokens:
                self._refresh_tokens[token] = "revoked"
        return 200, {}

    def device_usercode(self, body: dict) -> tuple[int, dict]:
        self._count("device_usercode")
        if body.get("client_id") != CLIENT_ID:
            return 400, {"error": "invalid_client"}
        device_id = "dev_" + secrets.token_hex(8)
        user_code = f"{secrets.randbelow(10000):04d}-{secrets.token_hex(2).upper()}"
        with self._lock:
            self._devices[device_id] = {"user_code": user_code, "approved": False}
        return 200, {"device_auth_id": device_id, "user_code": user_code, "interval": self.device_interval}

    def device_token(self, body: dict) -> tuple[int, dict]:
        self._count("device_token")
        with self._lock:
            device = self._devices.get(body.get("device_auth_id", ""))
            if device is None or device["user_code"] != body.get("user_code"):
                return 404, {"error": "unknown device authorization"}
            if not device["approved"]:
                return 403, {"error": "authorization_pending"}
            # The issuer made its own PKCE pair for the device flow and hands both halves back.
            verifier = _b64(secrets.token_bytes(32))
            challenge = _b64(hashlib.sha256(verifier.encode()).digest())
            code = "ac_" + secrets.token_urlsafe(16)
            self._codes[code] = {
                "challenge": challenge,
                "redirect_uri": f"{self.url}/deviceauth/callback",
                "expires_at": time.time() + self.code_ttl,
                "used": False,
            }
            device["approved"] = False  # one code per approval
        return 200, {"authorization_code": code, "code_challenge": challenge, "code_verifier": verifier}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOAuthIssuer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet test output
        pass

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}
        return {k: v[0] for k, v in parse_qs(raw.decode()).items()}

    def _send(self, status: int, body: dict | None, headers: dict | None = None) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.fake.requests.append(("GET", url.path))
        if url.path == "/oauth/authorize":
            self.fake._count("authorize")
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, headers, body = self.fake.authorize(query)
            self._send(status, body, headers)
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        self.fake.requests.append(("POST", url.path))
        body = self._body()
        routes = {
            "/oauth/token": self.fake.token,
            "/oauth/revoke": self.fake.revoke,
            "/api/accounts/deviceauth/usercode": self.fake.device_usercode,
            "/api/accounts/deviceauth/token": self.fake.device_token,
        }
        handler = routes.get(url.path)
        if handler is None:
            self._send(404, {"error": "not_found"})
            return
        status, payload = handler(body)
        self._send(status, payload)
