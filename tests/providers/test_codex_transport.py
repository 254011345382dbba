"""The engine's codex-oauth transport on Deskhand's own tokens: imported, refreshed once on a 401."""

import json

import pytest

from agent.errors import EngineError
from agent.transports import ModelRequest, TransportConfig, build_client
from providers import services
from providers.codex_tokens import CodexTokenSource, CodexTokenStore


class _OnlyTokensFrom:
    """The backend accepts the access tokens the issuer handed out, except the rejected ones."""

    def __init__(self, issuer, rejected):
        self.issuer, self.rejected = issuer, rejected

    def __contains__(self, token):
        return token in self.issuer.issued_access_tokens and token not in self.rejected


def test_imported_tokens_drive_the_codex_backend_and_a_401_refreshes_exactly_once(codex, settings, fake_openai):
    imported = codex.issue_tokens()
    settings.CODEX_HOME.mkdir()
    (settings.CODEX_HOME / "auth.json").write_text(
        json.dumps(
            {"auth_mode": "chatgpt", "tokens": {k: imported[k] for k in ("id_token", "access_token", "refresh_token")}}
        )
    )
    services.codex_login_start(method="import")
    # The backend no longer accepts the imported access token (revoked upstream, say).
    fake_openai.codex_valid_tokens = _OnlyTokensFrom(codex, {imported["access_token"]})
    fake_openai.add_turn(fake_openai.message("Hello from Codex."))

    client = build_client(
        "codex-oauth",
        TransportConfig(codex_base_url=fake_openai.codex_base_url, max_retries=0),
        CodexTokenSource.from_settings(),
    )
    response = client.create(
        ModelRequest(model="gpt-5.4", instructions="Be brief.", input=[{"role": "user", "content": "Say hello."}])
    )

    assert response.output[0]["type"] == "message"
    assert codex.counts["refresh"] == 1
    first, second = fake_openai.requests[-2:]
    assert first.headers["authorization"] == f"Bearer {imported['access_token']}"
    fresh = CodexTokenStore(settings.DATA_DIR).load().tokens
    assert second.headers["authorization"] == f"Bearer {fresh.access_token}"
    assert second.headers["chatgpt-account-id"] == "acct-fake-123"


def test_a_signed_out_provider_is_an_engine_error_that_says_how_to_sign_in(codex, fake_openai):
    client = build_client(
        "codex-oauth",
        TransportConfig(codex_base_url=fake_openai.codex_base_url, max_retries=0),
        CodexTokenSource.from_settings(),
    )
    with pytest.raises(EngineError) as raised:
        client.create(ModelRequest(model="gpt-5.4", instructions="x", input=[{"role": "user", "content": "hi"}]))
    assert raised.value.code == "codex_signed_out"
    assert "POST /api/auth/codex/login" in raised.value.message
    assert fake_openai.requests == []
