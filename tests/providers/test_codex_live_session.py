"""A live session on `codex-oauth`, end to end: the Codex CLI's sign-in imported through the API,
a real Celery worker calling the fake Codex backend with those tokens, one 401 from the backend,
exactly one refresh at the fake issuer, and the session back to idle with the answer.

The worker reads `DESKHAND_CODEX_ISSUER` once, at start, and the session's worker points at the
discard port: this module restarts it pointed at its fake issuer, and restarts it back afterwards
(two restarts of ~5 s, once per module; a second worker would compete for the same queue). The worker inherits `DESKHAND_DATA_DIR`, so the token store the
import writes here is the one it reads; `CODEX_HOME` is the test default, `$DESKHAND_DATA_DIR/codex-home`.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings

from providers import codex_login
from providers.codex_tokens import CodexTokenStore, jwt_claims
from tests.fakes.oauth_issuer import FakeOAuthIssuer
from tests.fixtures.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.desktop, pytest.mark.timeout(120)]

ACCOUNT_ID = "acct-fake-123"


@pytest.fixture(scope="module")
def issuer():
    with FakeOAuthIssuer(account_id=ACCOUNT_ID) as fake:
        yield fake


@pytest.fixture(scope="module")
def codex_worker(celery_worker_process, issuer, django_db_blocker):
    """The session's worker, restarted to refresh tokens at the fake issuer; put back afterwards."""
    saved = celery_worker_process.env.get("DESKHAND_CODEX_ISSUER")
    with django_db_blocker.unblock():
        _restart(celery_worker_process, issuer.url)
    try:
        yield celery_worker_process
    finally:
        with django_db_blocker.unblock():
            _restart(celery_worker_process, saved)


def _restart(worker, issuer_url: str | None) -> None:
    """Between tests the worker is idle (each test waits for its commands), so a SIGKILL loses
    nothing and saves Celery's ~6 s warm shutdown; a starting worker frees any desktop claim older
    than itself. `start()` waits for a machine heartbeat newer than itself: the killed worker's
    heartbeat, a moment old, is cleared first so it cannot pass for the new worker's (a command
    sent before the new worker consumes would go stale and be swept as interrupted)."""
    from runs.models import Machine

    if issuer_url is None:
        worker.env.pop("DESKHAND_CODEX_ISSUER", None)
    else:
        worker.env["DESKHAND_CODEX_ISSUER"] = issuer_url
    worker.kill()
    Machine.objects.filter(name=django_settings.MACHINE_NAME).update(last_heartbeat=None)
    worker.start()


@pytest.fixture
def signed_out_afterwards(settings):
    """The data dir is shared with every other test and the worker: leave no sign-in behind."""
    yield
    codex_login.reset()
    CodexTokenStore(settings.DATA_DIR).delete()
    (settings.CODEX_HOME / "auth.json").unlink(missing_ok=True)


def write_codex_cli_auth(settings, tokens: dict, last_refresh: str) -> None:
    settings.CODEX_HOME.mkdir(parents=True, exist_ok=True)
    path = settings.CODEX_HOME / "auth.json"
    path.write_text(
        json.dumps(
            {
                "auth_mode": "chatgpt",
                "OPENAI_API_KEY": None,
                "tokens": {
                    **{k: tokens[k] for k in ("id_token", "access_token", "refresh_token")},
                    "account_id": ACCOUNT_ID,
                },
                "last_refresh": last_refresh,
            }
        )
    )
    path.chmod(0o600)


def test_a_codex_oauth_live_session_uses_the_imported_tokens_and_refreshes_once_on_a_401(
    api, settings, issuer, codex_worker, model, signed_out_afterwards
):
    # The Codex CLI's sign-in, minted by the fake issuer: valid for 30 minutes (no refresh before
    # expiry is due), last refreshed an hour ago.
    imported = issuer.issue_tokens(access_ttl=1800)
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_codex_cli_auth(settings, imported, an_hour_ago)
    login = api.post("/api/auth/codex/login", {"method": "import"}, format="json")
    assert login.status_code == 200, login.content
    assert login.json()["status"] == "succeeded" and login.json()["accountId"] == ACCOUNT_ID
    before = api.get("/api/auth/status").json()["providers"]["codex-oauth"]
    assert before["signedIn"] is True and before["method"] == "import" and before["lastRefresh"] == an_hour_ago
    refreshes_before = issuer.counts["refresh"]

    # The router answers, then the backend refuses the agent's first call once, then answers it.
    model.add_route("cli")
    model.add_error(401, {"detail": "Could not validate your token, please try signing in again."})
    model.add_turn(model.message("Hello from Codex."))
    created = api.post("/api/live-sessions", {"model": "gpt-5.4", "authProvider": "codex-oauth"}, format="json")
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    assert created.json()["authProvider"] == "codex-oauth"
    accepted = api.post(f"/api/live-sessions/{sid}/commands", {"instruction": "say hello"}, format="json")
    assert accepted.status_code == 202, accepted.content

    done = wait_until(
        lambda s: s["status"] == "idle",
        60,
        of=lambda: api.get(f"/api/live-sessions/{sid}").json(),
        what="the command to end",
    )
    errors = [e for e in done["events"] if e["type"] == "error"]
    assert done["command"]["status"] == "succeeded", (done["command"], errors, codex_worker.tail())
    assert done["command"]["summary"] == "Hello from Codex." and not errors
    assert any(e["type"] == "message" and "Hello from Codex." in json.dumps(e["data"]) for e in done["events"])

    # Exactly one refresh, and the store now holds what it gave.
    assert issuer.counts["refresh"] - refreshes_before == 1
    stored = CodexTokenStore(settings.DATA_DIR).load().tokens
    assert stored.access_token != imported["access_token"] and stored.access_token in issuer.issued_access_tokens
    assert stored.refresh_token != imported["refresh_token"] and stored.account_id == ACCOUNT_ID

    # Every call went to the Codex backend; the imported token until the 401, the new one after it.
    calls = model.requests
    assert calls and all(c.path == model.CODEX_PATH for c in calls)
    assert all(c.headers.get("chatgpt-account-id") == ACCOUNT_ID for c in calls)
    tokens = [c.headers["authorization"].removeprefix("Bearer ") for c in calls]
    agent_calls = [
        i for i, c in enumerate(calls) if ((c.body.get("text") or {}).get("format") or {}).get("name") != "route"
    ]
    assert len(agent_calls) == 2  # the refused call and its retry
    refused, retried = agent_calls
    assert tokens[: refused + 1] == [imported["access_token"]] * (refused + 1)
    assert tokens[retried:] == [stored.access_token] * (len(calls) - retried)

    # Status shows the new expiry and the refresh just made; nothing anywhere holds a token.
    after_response = api.get("/api/auth/status")
    after = after_response.json()["providers"]["codex-oauth"]
    assert after["signedIn"] is True and after["accountId"] == ACCOUNT_ID and after["lastError"] is None
    new_exp = datetime.fromtimestamp(jwt_claims(stored.access_token)["exp"], UTC)
    assert after["expiresAt"] != before["expiresAt"]
    assert datetime.fromisoformat(after["expiresAt"].replace("Z", "+00:00")) == new_exp
    assert datetime.fromisoformat(after["lastRefresh"].replace("Z", "+00:00")) > datetime.now(UTC) - timedelta(
        minutes=2
    )
    session_text = api.get(f"/api/live-sessions/{sid}").content.decode()
    logs = "".join(p.read_text(errors="replace") for p in (settings.DATA_DIR / "logs").glob("*.log*"))
    assert "Signed in with ChatGPT via import" in logs
    for secret in issuer.issued_tokens:
        assert secret not in session_text
        assert secret not in after_response.content.decode()
        assert secret not in logs

    assert api.post(f"/api/live-sessions/{sid}/close").status_code == 200
