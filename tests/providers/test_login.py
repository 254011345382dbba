"""Signing in with ChatGPT through the API, against the fake issuer on loopback."""

import json
import logging
import socket
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from providers import codex_login
from providers.codex_tokens import CodexTokenStore
from tests.fixtures.waiting import wait_until

# The API's token check reads the sign-in throttle (core.signin) from the database.
pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/codex/login"
STATUS = "/api/auth/status"


def codex_status(api):
    response = api.get(STATUS)
    assert response.status_code == 200
    return response.json()["providers"]["codex-oauth"]


def start(api, method=None):
    body = {} if method is None else {"method": method}
    return api.post(LOGIN, body, format="json")


def redirect_uri(authorize_url):
    return parse_qs(urlsplit(authorize_url).query)["redirect_uri"][0]


def stored_tokens(settings):
    return CodexTokenStore(settings.DATA_DIR).load().tokens


def test_a_browser_sign_in_completes_through_the_local_callback(api, codex, settings, caplog):
    caplog.set_level(logging.INFO, logger="deskhand.auth")
    response = start(api)
    assert response.status_code == 202
    login = response.json()
    assert login["status"] == "pending" and login["method"] == "browser" and login["expiresAt"]
    query = parse_qs(urlsplit(login["authorizeUrl"]).query)
    assert login["authorizeUrl"].startswith(f"{codex.url}/oauth/authorize?")
    assert query["client_id"] == ["app_EMoamEEZ73f0CkXaXp7hrann"]
    assert query["code_challenge_method"] == ["S256"] and query["state"][0]
    assert query["redirect_uri"][0].startswith("http://localhost:") and query["redirect_uri"][0].endswith(
        "/auth/callback"
    )
    assert codex_status(api)["login"]["status"] == "pending"

    # The browser: open the authorize URL, follow the redirect to the local callback.
    page = httpx.get(login["authorizeUrl"], follow_redirects=True, timeout=10)
    assert page.status_code == 200 and "Signed in" in page.text

    status = codex_status(api)
    assert status["signedIn"] is True
    assert status["accountId"] == "acct-fake-123" and status["plan"] == "plus"
    assert status["expiresAt"] and status["lastRefresh"] and status["method"] == "browser"
    assert status["login"]["status"] == "succeeded"
    assert codex.counts["authorization_code"] == 1
    assert (settings.DATA_DIR / "codex-auth.json").stat().st_mode & 0o777 == 0o600
    assert any("Signed in with ChatGPT via browser" in r.getMessage() for r in caplog.records)

    def listener_closed():
        try:
            httpx.get(redirect_uri(login["authorizeUrl"]), timeout=2)
        except httpx.TransportError:
            return True
        return False

    wait_until(listener_closed, what="the callback listener to close with the login")


def test_a_callback_with_the_wrong_state_is_refused_and_the_login_stays_pending(api, codex, settings):
    login = start(api).json()
    forged = httpx.get(
        f"{redirect_uri(login['authorizeUrl'])}?{urlencode({'code': 'ac_forged', 'state': 'not-the-state'})}",
        timeout=10,
    )
    assert forged.status_code == 400 and "State mismatch" in forged.text
    assert codex.counts["authorization_code"] == 0  # the forged code was never exchanged
    assert codex_status(api)["login"]["status"] == "pending"
    # The real callback still completes it.
    page = httpx.get(login["authorizeUrl"], follow_redirects=True, timeout=10)
    assert page.status_code == 200
    assert codex_status(api)["signedIn"] is True


def test_an_expired_authorization_code_fails_the_login_with_the_issuers_reason(api, codex, settings):
    codex.code_ttl = -1
    login = start(api).json()
    page = httpx.get(login["authorizeUrl"], follow_redirects=True, timeout=10)
    assert page.status_code == 400 and "Sign-in failed" in page.text
    status = codex_status(api)
    assert status["signedIn"] is False
    assert status["login"]["status"] == "failed"
    assert status["login"]["error"]["code"] == "invalid_grant"
    assert "expired" in status["login"]["error"]["message"]


def test_an_already_used_authorization_code_fails_the_login(api, codex, settings):
    login = start(api).json()
    redirect = httpx.get(login["authorizeUrl"], follow_redirects=False, timeout=10)
    callback = redirect.headers["location"]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    # Someone else redeemed the code first (it would need the verifier, so the issuer refuses
    # theirs, but the code is spent either way).
    codex.token(
        {
            "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": "x",
        }
    )
    page = httpx.get(callback, timeout=10)
    assert page.status_code == 400
    assert codex_status(api)["login"]["error"]["code"] == "invalid_grant"


def test_a_denied_authorization_fails_the_login_with_the_reason(api, codex):
    codex.authorize_error = "access_denied"
    login = start(api, "browser").json()
    page = httpx.get(login["authorizeUrl"], follow_redirects=True, timeout=10)
    assert page.status_code == 400
    assert codex_status(api)["login"]["error"]["code"] == "access_denied"


def test_a_second_login_request_while_one_is_pending_returns_the_same_login(api, codex):
    first = start(api, "browser").json()
    second = start(api, "browser")
    assert second.status_code == 202
    assert second.json()["authorizeUrl"] == first["authorizeUrl"]
    assert second.json()["startedAt"] == first["startedAt"]


def test_a_pending_login_expires(api, codex):
    start(api)
    codex_login.current_login().expires_at = 0  # as if 15 minutes had passed
    login = codex_status(api)["login"]
    assert login["status"] == "expired" and login["error"]["code"] == "login_expired"
    # A new request starts a fresh login.
    assert start(api).json()["status"] == "pending"


def test_the_callback_port_being_busy_is_explained(api, codex, settings):
    with socket.socket() as holder:  # e.g. a `codex login` in progress
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        settings.CODEX_CALLBACK_PORT = holder.getsockname()[1]
        response = start(api, "browser")
    assert response.status_code == 409
    assert response.json()["code"] == "callback_port_busy"
    assert '"method": "device"' in response.json()["message"]


def test_a_device_code_sign_in_polls_until_the_user_approves(api, codex, settings):
    response = start(api, "device")
    assert response.status_code == 202
    login = response.json()
    assert login["status"] == "pending" and login["method"] == "device"
    assert login["verificationUrl"] == f"{codex.url}/codex/device"
    assert login["userCode"]
    wait_until(lambda: codex.counts["device_token"] >= 2, what="the device poll")
    status = codex_status(api)
    assert status["signedIn"] is False and status["login"]["status"] == "pending"

    codex.approve_device(login["userCode"])
    wait_until(lambda: codex_status(api)["signedIn"], what="the device sign-in")
    status = codex_status(api)
    assert status["accountId"] == "acct-fake-123" and status["method"] == "device"
    assert status["login"]["status"] == "succeeded"


def write_codex_cli_auth(settings, content):
    settings.CODEX_HOME.mkdir(parents=True, exist_ok=True)
    path = settings.CODEX_HOME / "auth.json"
    path.write_text(json.dumps(content))
    path.chmod(0o600)
    return path


def test_import_copies_the_codex_cli_tokens_into_deskhands_own_store(api, codex, settings):
    tokens = codex.issue_tokens()
    write_codex_cli_auth(
        settings,
        {
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": None,
            "tokens": {
                **{k: tokens[k] for k in ("id_token", "access_token", "refresh_token")},
                "account_id": "acct-fake-123",
            },
            "last_refresh": "2026-11-01T10:00:00Z",
        },
    )
    assert codex_status(api)["importAvailable"] is True
    response = start(api, "import")
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded" and response.json()["accountId"] == "acct-fake-123"
    assert stored_tokens(settings).refresh_token == tokens["refresh_token"]
    status = codex_status(api)
    assert status["signedIn"] is True and status["method"] == "import"
    assert status["lastRefresh"] == "2026-11-01T10:00:00Z"


def test_import_without_a_codex_cli_sign_in_names_the_missing_file(api, codex, settings):
    response = start(api, "import")
    assert response.status_code == 409  # a fine request; this machine has nothing to import
    body = response.json()
    assert body["code"] == "codex_import_unavailable"
    assert str(settings.CODEX_HOME / "auth.json") in body["message"]
    assert body["details"]["problem"] == "missing"


def test_import_of_an_auth_file_without_chatgpt_tokens_says_so(api, codex, settings):
    write_codex_cli_auth(
        settings, {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-cli-key-0000000000000000", "tokens": None}
    )
    assert codex_status(api)["importAvailable"] is False
    response = start(api, "import")
    assert response.status_code == 409
    assert response.json()["details"]["problem"] == "no_tokens"
    assert "no ChatGPT tokens" in response.json()["message"]
    assert "sk-cli-key" not in response.content.decode()
