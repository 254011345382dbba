"""Proxy health: per provider, does the endpoint answer, is the credential accepted, quota left."""

import socket

from providers.selectors import proxy_health

from .conftest import seed_store


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_signed_in_codex_backend_that_answers_is_ok_with_its_headroom(codex, settings, backend):
    tokens = seed_store(settings, codex)
    settings.CODEX_BASE_URL = backend.url
    backend.headers = {
        "x-codex-primary-used-percent": "12.5",
        "x-codex-primary-window-minutes": "300",
        "x-codex-secondary-used-percent": "40",
    }
    health = proxy_health(timeout=2)["codex-oauth"]
    assert health["status"] == "ok" and health["authAccepted"] is True
    assert health["rateLimit"]["primary"]["usedPercent"] == 12.5
    assert health["rateLimit"]["secondary"]["usedPercent"] == 40
    path, headers = backend.seen[-1]
    assert path.startswith("/models?client_version=")
    assert headers["Authorization"] == f"Bearer {tokens.access_token}"
    assert headers["ChatGPT-Account-ID"] == "acct-fake-123"
    assert tokens.access_token not in str(health)


def test_a_nearly_used_up_quota_is_degraded(codex, settings, backend):
    seed_store(settings, codex)
    settings.CODEX_BASE_URL = backend.url
    backend.headers = {"x-codex-primary-used-percent": "97"}
    health = proxy_health(timeout=2)["codex-oauth"]
    assert health["status"] == "degraded" and "97% used" in health["reason"]


def test_a_rejected_access_token_is_down_with_the_reason(codex, settings, backend):
    seed_store(settings, codex)
    settings.CODEX_BASE_URL = backend.url
    backend.status = 401
    health = proxy_health(timeout=2)["codex-oauth"]
    assert health["status"] == "down" and health["authAccepted"] is False
    assert "rejected (HTTP 401)" in health["reason"]


def test_codex_not_signed_in_is_not_configured(codex, settings):
    health = proxy_health(timeout=2)["codex-oauth"]
    assert health["status"] == "not_configured" and "POST /api/auth/codex/login" in health["reason"]


def test_the_api_key_provider_reports_ok_rejected_and_unreachable(codex, settings, backend):
    settings.OPENAI_API_KEY = "sk-health-0123456789abcdefghij"
    settings.OPENAI_BASE_URL = backend.url
    backend.headers = {"x-ratelimit-remaining-requests": "499", "x-ratelimit-limit-requests": "500"}
    ok = proxy_health(timeout=2)["api-key"]
    assert ok["status"] == "ok" and ok["rateLimit"]["requests"] == {"remaining": 499, "limit": 500}
    assert backend.seen[-1][0] == "/models"
    assert backend.seen[-1][1]["Authorization"] == "Bearer sk-health-0123456789abcdefghij"

    backend.status = 401
    rejected = proxy_health(timeout=2)["api-key"]
    assert rejected["status"] == "down" and "API key was rejected" in rejected["reason"]

    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{free_port()}/v1"
    down = proxy_health(timeout=2)["api-key"]
    assert down["status"] == "down" and down["reachable"] is False and "unreachable" in down["reason"]
    assert "sk-health" not in str([ok, rejected, down])


def test_without_an_api_key_the_provider_is_not_configured(codex, settings):
    settings.OPENAI_API_KEY = ""
    assert proxy_health(timeout=2)["api-key"]["status"] == "not_configured"


def test_the_https_proxy_is_checked_when_set(codex, settings, backend):
    settings.OPENAI_API_KEY = ""
    assert proxy_health(timeout=2)["https-proxy"]["status"] == "not_configured"
    settings.HTTPS_PROXY = f"http://user:secret@127.0.0.1:{free_port()}"
    down = proxy_health(timeout=2)["https-proxy"]
    assert down["status"] == "down" and "secret" not in str(down)
    settings.HTTPS_PROXY = backend.url
    assert proxy_health(timeout=2)["https-proxy"]["status"] == "ok"
