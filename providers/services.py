"""Sign in with ChatGPT and sign out: the writes of the providers app."""

from __future__ import annotations

import logging

import httpx
from django.conf import settings

from . import codex_login
from .codex_login import LoginConfig, LoginState
from .codex_tokens import CLIENT_ID, CodexTokenStore, http_client

logger = logging.getLogger("deskhand.auth")

REVOKE_TIMEOUT = 5.0


def codex_login_start(*, method: str = "browser") -> LoginState:
    """Start (or return the already pending) sign-in with ChatGPT; `import` finishes at once."""
    return codex_login.login_start(method=method, config=LoginConfig.from_settings())


def codex_logout() -> dict:
    """Forget the ChatGPT sign-in: cancel a pending login, delete the stored tokens, revoke them.

    Idempotent. The tokens are deleted before revoking: an issuer that cannot be reached must not
    keep the user signed in.
    """
    cancelled = codex_login.login_cancel()
    store = CodexTokenStore(settings.DATA_DIR)
    with store.lock():
        state = store.load_ignoring_permissions()
        store.delete()
    revoked = None
    if state and state.tokens:
        revoked = _revoke(state.tokens.refresh_token)
        logger.info(
            "Signed out of ChatGPT (account %s; revoked at the issuer: %s)",
            state.tokens.account_id or "unknown",
            revoked,
        )
    return {"signedIn": False, "revoked": revoked, "loginCancelled": cancelled}


def _revoke(refresh_token: str) -> bool:
    """RFC 7009 revocation of the refresh token (the issuer ends its access tokens with it)."""
    url = f"{settings.CODEX_ISSUER.rstrip('/')}/oauth/revoke"
    form = {"token": refresh_token, "token_type_hint": "refresh_token", "client_id": CLIENT_ID}
    try:
        with http_client(url, proxy=settings.HTTPS_PROXY, timeout=REVOKE_TIMEOUT) as client:
            response = client.post(url, data=form)
    except httpx.HTTPError as exc:
        logger.warning("Could not revoke the ChatGPT token at sign-out: %s", type(exc).__name__)
        return False
    if response.status_code >= 400:
        logger.warning("The issuer refused to revoke the ChatGPT token at sign-out (HTTP %s)", response.status_code)
        return False
    return True
