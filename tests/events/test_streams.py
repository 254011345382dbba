"""The one SSE mechanism, through the real ASGI app (Daphne) and a real socket."""

import threading

import httpx
import pytest

from events.services import event_append
from tests.fixtures.server import AsgiServer, read_sse

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.scaled]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    server = AsgiServer(
        {"DJANGO_SETTINGS_MODULE": "tests.events.stream_settings", "DESKHAND_SSE_KEEPALIVE_SECONDS": "0.5"}
    )
    yield server
    server.stop()


def append(owner, count, start=0):
    for n in range(start, start + count):
        event_append(owner_id=owner, type="message", data={"n": n})


def finish(owner):
    event_append(owner_id=owner, type="status", data={"status": "succeeded"})


def test_it_replays_then_tails_then_ends_after_the_terminal_status(server):
    append("run_a", 3)
    with server.client() as client, client.stream("GET", "/api/test/streams/run_a") as response:
        assert response.status_code == 200
        first = read_sse(response, limit=3)
        assert [m["id"] for m in first] == ["1", "2", "3"]
        # The server is now tailing an idle owner; new rows must reach this open stream.
        append("run_a", 2, start=3)
        finish("run_a")
        rest = read_sse(response)  # returns when the server ends the stream
    assert [m["id"] for m in rest] == ["4", "5", "6"]
    assert rest[-1]["event"] == "status" and rest[-1]["data"]["data"] == {"status": "succeeded"}
    assert [m["data"]["data"]["n"] for m in first + rest[:-1]] == [0, 1, 2, 3, 4]


def test_a_reader_that_reconnects_loses_and_duplicates_nothing(server):
    append("run_b", 5)
    with server.client() as client:
        with client.stream("GET", "/api/test/streams/run_b") as response:
            seen = read_sse(response, limit=2)
        # Disconnected; the run goes on.
        append("run_b", 3, start=5)
        finish("run_b")
        last = seen[-1]["id"]
        with client.stream("GET", "/api/test/streams/run_b", headers={"Last-Event-ID": last}) as response:
            seen += read_sse(response)
    ids = [int(m["id"]) for m in seen]
    assert ids == list(range(1, 10))


def test_it_sends_the_headers_a_stream_needs_and_never_compresses(server):
    finish("run_c")
    with (
        server.client() as client,
        client.stream("GET", "/api/test/streams/run_c", headers={"Accept-Encoding": "gzip"}) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert response.headers.get("content-encoding", "identity") == "identity"
        read_sse(response)


def test_a_quiet_stream_opens_at_once_and_sends_keep_alives(server):
    with server.client() as client, client.stream("GET", "/api/test/streams/run_quiet") as response:
        assert response.status_code == 200
        lines = []
        for line in response.iter_lines():
            lines.append(line)
            if line == ": keep-alive":
                break
    assert lines[0] == ": stream open"


def test_a_reader_resuming_after_the_end_gets_204_so_it_stops_reconnecting(server):
    append("run_d", 1)
    finish("run_d")
    with server.client() as client:
        response = client.get("/api/test/streams/run_d", headers={"Last-Event-ID": "2"})
    assert response.status_code == 204


def test_it_refuses_a_malformed_last_event_id(server):
    with server.client() as client:
        response = client.get("/api/test/streams/run_e", headers={"Last-Event-ID": "abc"})
    assert response.status_code == 400
    assert "Last-Event-ID" in response.json()["message"]


def test_it_refuses_a_stream_without_the_token(server):
    response = httpx.get(server.url + "/api/test/streams/run_f", timeout=10)
    assert response.status_code == 401


def test_many_readers_each_get_every_event_once(server):
    results = {}

    def reader(index):
        with server.client() as client, client.stream("GET", "/api/test/streams/run_many") as response:
            results[index] = [int(m["id"]) for m in read_sse(response)]

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    append("run_many", 20)
    finish("run_many")
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 10
    assert all(ids == list(range(1, 22)) for ids in results.values())
