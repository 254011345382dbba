"""Hostile requests against the real server: `python -m daphne` and `manage.py serve` alike.

These limits live in Daphne's HTTP parser (config/http_limits.py), so they are tested through a
real socket; the test client never gets near them.
"""

import json
import socket
import sys
import time

import httpx
import psutil
import pytest
from django.conf import settings

from tests.fixtures.server import AsgiServer

# The Daphne server reads the test database (the token check); the mark makes sure it exists.
pytestmark = pytest.mark.django_db

MB = 1 << 20
BODY_TIMEOUT = 2
TOKEN = "http-limits-token-0123456789"


def serve_command(port: int) -> list[str]:
    """`manage.py serve`, the command users run (without its worker: these tests need none)."""
    return [sys.executable, "manage.py", "serve", "--no-worker", "--port", str(port)]


@pytest.fixture(scope="module", params=["daphne", "serve"])
def server(request, django_db_setup, tmp_path_factory):
    env = {"DESKHAND_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT)}
    if request.param == "daphne":
        running = AsgiServer(extra_env=env)
        running.token = settings.API_TOKEN
    else:
        # Its own data dir and database, as a user's would be.
        data_dir = tmp_path_factory.mktemp("serve")
        env.update(
            DESKHAND_DATA_DIR=str(data_dir),
            DATABASE_URL=f"sqlite:///{data_dir / 'serve.sqlite3'}",
            DESKHAND_API_TOKEN=TOKEN,
            CELERY_BROKER_URL="filesystem://",
            DESKHAND_REDIS_URL="",
        )
        running = AsgiServer(extra_env=env, command=serve_command)
        running.token = TOKEN
    yield running
    running.stop()


def auth(server) -> dict:
    return {"Authorization": f"Bearer {server.token}"}


def raw_exchange(server, data: bytes, *, timeout: float = 30) -> tuple[bytes, dict]:
    """Send raw bytes, read until the server closes: (status line, JSON body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], json.loads(body)


def assert_envelope(response: httpx.Response, status: int, code: str, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert body["details"]["field"] == field


@pytest.mark.parametrize("with_token", [True, False], ids=["token", "no-token"])
def test_a_1_gb_streamed_body_is_refused_as_it_arrives_and_memory_stays_flat(server, with_token):
    process = psutil.Process(server.proc.pid)
    before = process.memory_info().rss

    def one_gigabyte():
        chunk = b" " * MB
        for _ in range(1024):
            yield chunk

    response = httpx.post(
        server.url + "/api/runs",
        content=one_gigabyte(),  # no length: sent chunked
        headers={"Content-Type": "application/json", **(auth(server) if with_token else {})},
        timeout=60,
    )
    grown = process.memory_info().rss - before

    assert_envelope(response, 413, "body_too_large", "body")
    assert response.json()["details"]["limit"] == settings.MAX_BODY_BYTES
    assert grown < 50 * MB, f"the server grew by {grown / MB:.0f} MB"


def test_a_declared_length_over_the_limit_is_refused_before_any_body(server):
    status, body = raw_exchange(
        server,
        b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000000000000000000\r\n\r\n",
        timeout=10,  # no body follows: an answer that waited for it would time out here
    )
    assert status == b"HTTP/1.1 413 Content Too Large"
    assert body["code"] == "body_too_large"
    assert body["details"] == {"field": "body", "limit": settings.MAX_BODY_BYTES, "length": 10**20}


def test_a_client_expecting_100_continue_gets_the_refusal_instead(server):
    status, body = raw_exchange(
        server,
        b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: 2000000000\r\n\r\n",
        timeout=10,
    )
    assert status.startswith(b"HTTP/1.1 413")
    assert body["code"] == "body_too_large"


def test_a_body_that_never_arrives_times_out_with_408(server):
    started = time.monotonic()
    status, body = raw_exchange(
        server,
        b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {server.token}\r\n".encode()
        + b"Content-Length: 100\r\n\r\n{",  # one byte of the hundred promised
    )
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert body["code"] == "body_timeout"
    assert body["details"]["field"] == "body"
    assert time.monotonic() - started >= BODY_TIMEOUT


def test_a_100_kb_query_string_gets_a_json_answer(server):
    # Raw: httpx itself refuses URLs over 64 KB.
    status, body = raw_exchange(
        server,
        b"GET /api/runs?filter="
        + b"a" * 100_000
        + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {server.token}\r\n\r\n".encode(),
    )
    assert status == b"HTTP/1.1 414 URI Too Long"
    assert body["code"] == "uri_too_long"
    assert body["details"] == {"field": "query", "limit": 16384}


def test_headers_over_16_kb_get_a_json_answer(server):
    response = httpx.get(server.url + "/api/runs", headers={**auth(server), "X-Filler": "a" * 20_000}, timeout=30)
    assert_envelope(response, 431, "headers_too_large", "headers")


def test_malformed_multipart_gets_415_not_a_bare_400(server):
    # Twisted used to parse form bodies itself and answer this with an empty 400.
    response = httpx.post(
        server.url + "/api/live-sessions",
        content=b"xx",
        headers={**auth(server), "Content-Type": "multipart/form-data; boundary=zz"},
        timeout=30,
    )
    assert_envelope(response, 415, "unsupported_media_type", "Content-Type")


def test_bodies_within_the_limit_still_reach_the_api(server):
    # 600 KB: over Twisted's in-memory threshold (it spools to a file), under the limit; declared
    # and streamed. The API's own validation answering proves the body arrived whole.
    document = json.dumps({"scenarioId": "x" * 600_000}).encode()
    declared = httpx.post(
        server.url + "/api/runs",
        content=document,
        headers={**auth(server), "Content-Type": "application/json"},
        timeout=30,
    )
    streamed = httpx.post(
        server.url + "/api/runs",
        content=iter([document[:300_000], document[300_000:]]),
        headers={**auth(server), "Content-Type": "application/json"},
        timeout=30,
    )
    for response in (declared, streamed):
        assert response.status_code == 400, response.text
        assert response.json()["details"]["field"] in ("scenarioId", "authProvider")
