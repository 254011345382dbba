"""Fixtures for the providers app: the fake issuer, a scripted backend, and a private data dir."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from providers import codex_login
from providers.codex_tokens import CodexTokens, CodexTokenStore, StoredAuth, now_iso
from tests.fakes.oauth_issuer import FakeOAuthIssuer


@pytest.fixture
def issuer():
    with FakeOAuthIssuer() as fake:
        yield fake


@pytest.fixture
def codex(settings, tmp_path, issuer):
    """Deskhand pointed at the fake issuer, with its own data dir and an empty CODEX_HOME."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.CODEX_HOME = tmp_path / "codex-home"
    settings.CODEX_ISSUER = issuer.url
    settings.CODEX_CALLBACK_PORT = 0  # any free port: the redirect URI follows the bound port
    settings.HTTPS_PROXY = ""
    # Never the real API: a health check probes this (port 9 refuses at once).
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    yield issuer
    codex_login.reset()


def seed_store(settings, issuer, *, access_ttl=3600.0) -> CodexTokens:
    """Deskhand signed in with tokens the fake issuer knows."""
    tokens = CodexTokens.from_response(issuer.issue_tokens(access_ttl=access_ttl))
    CodexTokenStore(settings.DATA_DIR).save(
        StoredAuth(tokens=tokens, last_refresh=now_iso(), signed_in_at=now_iso(), method="browser")
    )
    return tokens


class FakeBackend:
    """A scripted HTTP endpoint on loopback: answers every GET with `status`, `headers`, `body`."""

    def __init__(self):
        self.status = 200
        self.headers = {}
        self.body = {"object": "list", "data": [], "models": []}
        self.seen = []  # (path, headers) of each request
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                backend.seen.append((self.path, dict(self.headers)))
                payload = json.dumps(backend.body).encode()
                self.send_response(backend.status)
                for name, value in backend.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backend():
    fake = FakeBackend()
    yield fake
    fake.close()
