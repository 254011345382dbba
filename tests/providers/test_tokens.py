"""The token store and the engine's token source: refresh, the 401 path, races, sign-out on refusal."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from providers.codex_tokens import (
    CodexSignedOut,
    CodexTokenFileInsecure,
    CodexTokenSource,
    CodexTokenStore,
    jwt_claims,
)
from providers.selectors import codex_status

from .conftest import seed_store

REPO = Path(__file__).resolve().parents[2]


def source(settings):
    return CodexTokenSource.from_settings()


def test_it_stores_tokens_privately_with_account_and_plan_from_the_claims(codex, settings):
    tokens = seed_store(settings, codex)
    path = settings.DATA_DIR / "codex-auth.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert tokens.account_id == "acct-fake-123"
    assert tokens.plan == "plus"
    assert source(settings).get() == (tokens.access_token, "acct-fake-123")
    assert codex.counts["refresh"] == 0


def test_it_refreshes_before_the_access_token_expires(codex, settings):
    old = seed_store(settings, codex, access_ttl=60)  # inside the refresh margin
    access, account = source(settings).get()
    assert codex.counts["refresh"] == 1
    assert access != old.access_token and account == "acct-fake-123"
    stored = CodexTokenStore(settings.DATA_DIR).load()
    assert stored.tokens.access_token == access
    assert stored.tokens.refresh_token != old.refresh_token  # rotated
    assert stored.last_refresh
    # The new token is good for an hour: no second refresh.
    assert source(settings).get()[0] == access
    assert codex.counts["refresh"] == 1


def test_it_refreshes_once_after_a_401_and_reuses_a_token_another_process_rotated(codex, settings):
    old = seed_store(settings, codex)
    first = source(settings)
    new_access, _ = first.refresh_after_unauthorized(old.access_token)
    assert new_access != old.access_token
    assert codex.counts["refresh"] == 1
    # A second process still holding the old token: it finds the rotated one, no refresh.
    second = source(settings)
    assert second.refresh_after_unauthorized(old.access_token)[0] == new_access
    assert codex.counts["refresh"] == 1


def test_a_reused_refresh_token_signs_out_with_the_reason(codex, settings):
    old = seed_store(settings, codex, access_ttl=0)
    # The Codex CLI (sharing the imported tokens) refreshed first.
    codex.token(
        {"client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "grant_type": "refresh_token", "refresh_token": old.refresh_token}
    )
    with pytest.raises(CodexSignedOut) as raised:
        source(settings).get()
    assert raised.value.code == "codex_signed_out"
    assert "refresh_token_reused" in raised.value.message
    assert "POST /api/auth/codex/login" in raised.value.message
    status = codex_status()
    assert status["signedIn"] is False
    assert status["lastError"]["code"] == "refresh_token_reused"
    # Signed out stays signed out: no further calls to the issuer.
    with pytest.raises(CodexSignedOut):
        source(settings).get()
    assert codex.counts["refresh"] == 2


def test_a_revoked_refresh_token_signs_out_on_the_401_path(codex, settings):
    old = seed_store(settings, codex)
    codex.revoke_refresh_token(old.refresh_token)
    with pytest.raises(CodexSignedOut) as raised:
        source(settings).refresh_after_unauthorized(old.access_token)
    assert "refresh_token_invalidated" in raised.value.message
    assert codex_status()["lastError"]["code"] == "refresh_token_invalidated"
    assert CodexTokenStore(settings.DATA_DIR).load().tokens is None


def test_without_a_sign_in_it_says_how_to_sign_in(codex, settings):
    with pytest.raises(CodexSignedOut) as raised:
        source(settings).get()
    assert raised.value.code == "codex_signed_out"
    assert "POST /api/auth/codex/login" in raised.value.message


def test_a_world_readable_token_file_is_refused_and_status_says_how_to_fix_it(codex, settings):
    seed_store(settings, codex)
    path = settings.DATA_DIR / "codex-auth.json"
    path.chmod(0o644)
    with pytest.raises(CodexTokenFileInsecure) as raised:
        source(settings).get()
    assert f"chmod 600 {path}" in raised.value.message
    status = codex_status()
    assert status["signedIn"] is False
    assert status["lastError"]["code"] == "codex_token_file_insecure"
    assert "chmod 600" in status["lastError"]["message"]


_RACER = """
import json, sys
from pathlib import Path
from providers.codex_tokens import CodexTokenSource
source = CodexTokenSource(data_dir=Path(sys.argv[1]), issuer=sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
access, account = source.get()
print(json.dumps({"access": access, "account": account}), flush=True)
"""


def test_two_processes_refreshing_an_expired_token_at_once_refresh_it_once(codex, settings):
    old = seed_store(settings, codex, access_ttl=0)
    codex.refresh_delay = 0.3  # the second process arrives while the first is mid-refresh
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(settings.DATA_DIR), codex.url],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for racer in racers:
            assert racer.stdout.readline().strip() == "ready"
        for racer in racers:
            racer.stdin.write("go\n")
            racer.stdin.flush()
        outputs = [racer.communicate(timeout=30) for racer in racers]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
    for racer, (_, err) in zip(racers, outputs):
        assert racer.returncode == 0, err  # e.g. CodexSignedOut: refresh_token_reused
    results = [json.loads(out) for out, _ in outputs]
    assert codex.counts["refresh"] == 1
    assert results[0] == results[1]
    stored = CodexTokenStore(settings.DATA_DIR).load()
    assert results[0]["access"] == stored.tokens.access_token != old.access_token
    assert jwt_claims(results[0]["access"])["exp"] > jwt_claims(old.access_token)["exp"]


def test_missing_credentials_says_what_to_do_until_signed_in(codex, settings):
    from providers.selectors import codex_missing_credentials

    assert "POST /api/auth/codex/login" in codex_missing_credentials()
    seed_store(settings, codex, access_ttl=0)  # expired but refreshable: usable
    assert codex_missing_credentials() is None
