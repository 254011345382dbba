"""The auth endpoints' contract: shapes, bad input, wrong methods, logout, and no secret ever out."""

import json
import logging

import httpx
import pytest
from django.conf import settings as django_settings

from providers.codex_tokens import CodexSignedOut, CodexTokenSource, CodexTokenStore
from providers.selectors import proxy_health

from .conftest import seed_store

# The API's token check reads the sign-in throttle (core.signin) from the database.
pytestmark = pytest.mark.django_db

STATUS = "/api/auth/status"
LOGIN = "/api/auth/codex/login"
LOGOUT = "/api/auth/codex/logout"


def test_status_lists_both_providers(api, codex, settings):
    settings.OPENAI_API_KEY = "sk-live-abcdefghijklmnopqrstuvwxyz"
    body = api.get(STATUS).json()
    assert body["providers"]["api-key"] == {"configured": True, "baseUrl": settings.OPENAI_BASE_URL}
    codex_oauth = body["providers"]["codex-oauth"]
    assert codex_oauth["signedIn"] is False and codex_oauth["login"] is None
    assert set(codex_oauth) >= {"signedIn", "accountId", "plan", "expiresAt", "lastRefresh", "lastError", "login"}
    assert "sk-live" not in api.get(STATUS).content.decode()


def test_status_needs_the_api_token(anonymous, codex):
    assert anonymous.get(STATUS).status_code == 401
    assert anonymous.post(LOGIN, {}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [({"method": "carrier-pigeon"}, "method"), ({"method": "browser", "scope": "all"}, "scope")],
)
def test_login_refuses_bad_input_naming_the_field(api, codex, body, field):
    response = api.post(LOGIN, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"
    assert response.json()["details"]["field"] == field
    assert field in response.json()["message"]


@pytest.mark.parametrize(("method", "path"), [("get", LOGIN), ("get", LOGOUT), ("post", STATUS), ("delete", LOGIN)])
def test_endpoints_refuse_the_wrong_method(api, codex, method, path):
    response = getattr(api, method)(path)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_logout_deletes_the_tokens_revokes_them_and_is_idempotent(api, codex, settings):
    tokens = seed_store(settings, codex)
    response = api.post(LOGOUT, format="json")
    assert response.status_code == 200
    assert response.json() == {"signedIn": False, "revoked": True, "loginCancelled": False}
    assert codex.revoked == [tokens.refresh_token]
    assert not (settings.DATA_DIR / "codex-auth.json").exists()
    assert api.get(STATUS).json()["providers"]["codex-oauth"]["signedIn"] is False

    again = api.post(LOGOUT, format="json")
    assert again.status_code == 200
    assert again.json() == {"signedIn": False, "revoked": None, "loginCancelled": False}
    assert codex.counts["revoke"] == 1


def test_logout_signs_out_even_when_the_issuer_cannot_be_reached(api, codex, settings):
    seed_store(settings, codex)
    codex.stop()
    response = api.post(LOGOUT, format="json")
    assert response.status_code == 200
    assert response.json()["revoked"] is False
    assert not (settings.DATA_DIR / "codex-auth.json").exists()


def test_logout_cancels_a_pending_login_and_closes_its_listener(api, codex):
    login = api.post(LOGIN, {"method": "browser"}, format="json").json()
    response = api.post(LOGOUT, format="json")
    assert response.json()["loginCancelled"] is True
    assert api.get(STATUS).json()["providers"]["codex-oauth"]["login"]["status"] == "cancelled"
    # The browser finishing afterwards signs nobody in.
    page = None
    try:
        page = httpx.get(login["authorizeUrl"], follow_redirects=True, timeout=5)
    except httpx.TransportError:
        pass  # the listener is gone: what we want
    assert page is None or page.status_code == 410
    assert api.get(STATUS).json()["providers"]["codex-oauth"]["signedIn"] is False


def test_no_token_appears_in_any_response_or_log_line(api, codex, settings, caplog, backend):
    caplog.set_level(logging.DEBUG)
    settings.CODEX_BASE_URL = backend.url
    settings.OPENAI_API_KEY = ""
    bodies = []
    login = api.post(LOGIN, {"method": "browser"}, format="json")
    bodies.append(login.content)
    bodies.append(httpx.get(login.json()["authorizeUrl"], follow_redirects=True, timeout=10).content)
    bodies.append(api.get(STATUS).content)
    # A refresh, then a refusal that signs out, then sign-out.
    source = CodexTokenSource.from_settings()
    access, _ = source.get()
    source.refresh_after_unauthorized(access)
    bodies.append(api.get(STATUS).content)
    bodies.append(json.dumps(proxy_health(timeout=2)).encode())
    state = CodexTokenStore(settings.DATA_DIR).load()
    codex.revoke_refresh_token(state.tokens.refresh_token)
    with pytest.raises(CodexSignedOut):
        source.refresh_after_unauthorized(state.tokens.access_token)
    bodies.append(api.get(STATUS).content)
    bodies.append(api.post(LOGOUT, format="json").content)

    secrets = codex.issued_tokens
    assert len(secrets) >= 6
    logs = caplog.text
    log_file = django_settings.LOG_DIR / "deskhand-web.log"
    if log_file.exists():
        logs += log_file.read_text()
    for secret in secrets:
        for body in bodies:
            assert secret.encode() not in body
        assert secret not in logs
    assert "Signed in with ChatGPT via browser" in caplog.text


def test_the_api_documents_the_auth_endpoints(api, codex):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert {STATUS, LOGIN, LOGOUT} <= set(paths)
    assert "requestBody" in paths[LOGIN]["post"]
