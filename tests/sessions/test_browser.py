"""A live session drives the browser end to end through the HTTP API: Daphne, a real worker, the fake
model server scripting browser tool calls, the system Chromium headed on the Xvfb desktop, and the
screen stream showing it."""

import base64
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from agent.browser import shutdown_managed
from tests.fixtures.waiting import wait_until
from tests.sessions.conftest import new_session
from tests.sessions.test_end_to_end import Reader, session_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.desktop,
    pytest.mark.browser,
    pytest.mark.timeout(180),
]
CHROMIUM = os.environ.get("DESKHAND_TEST_CHROMIUM", "/usr/bin/chromium")


class Pages(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query).get("q", [""])[0]
        if url.path == "/results":
            body = f'<title>Results for {q}</title><a href="/item/1">First result about {q}</a>'
        elif url.path == "/item/1":
            body = "<title>Item 1</title><h1 style='font-size:80px'>Item 1</h1>"
        else:
            body = (
                '<title>Search</title><form action="/results"><label>Search <input name="q"></label>'
                "<button>Go</button></form>"
            )
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def pages():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing; the browser tests must run in CI", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        # The worker's managed browser outlives the command (a follow-up reuses it); end it here.
        shutdown_managed(str(settings.DATA_DIR / "browser-profile"))
        server.shutdown()
        server.server_close()


def test_a_live_session_searches_with_the_browser_tools_while_the_stream_shows_the_browser(
    session_server, http, celery_worker_process, model, desktop, pages
):
    model.add_turn(model.function_call("browser_open", {"url": pages + "/search"}, call_id="open"))
    model.add_turn(
        model.function_call("browser_type", {"text": "Search", "value": "kittens", "submit": True}, call_id="type")
    )
    model.add_turn(model.function_call("browser_click", {"text": "First result about kittens"}, call_id="click"))
    model.add_turn(model.message("Opened the first result about kittens."))
    sid = new_session(http)["id"]
    events = Reader(session_server, f"/api/live-sessions/{sid}/events")
    frames = Reader(session_server, f"/api/live-sessions/{sid}/screen-stream")
    events.start()
    frames.start()
    first = wait_until(lambda: frames.of("frame"), 15, what="the first frame")[0]["data"]

    accepted = http.post(
        f"/api/live-sessions/{sid}/commands", json={"instruction": "search for kittens and open the first result"}
    )
    assert accepted.status_code == 202
    done = wait_until(lambda s: s["status"] == "idle", 90, of=lambda: session_of(http, sid), what="idle")
    assert done["command"]["status"] == "succeeded", done
    assert done["command"]["summary"] == "Opened the first result about kittens."

    stored = session_of(http, sid)["events"]
    route = next(e for e in stored if e["type"] == "agent_route")["data"]
    assert route["route"] == "desktop" and route["browser"] is True and "browser-first" in route["reason"]
    results = {e["data"]["call_id"]: e["data"] for e in stored if e["type"] == "tool_result"}
    assert [results[c]["status"] for c in ("open", "type", "click")] == ["ok", "ok", "ok"], results
    assert "Now on: Item 1" in results["click"]["output"]
    calls = [e["data"]["name"] for e in stored if e["type"] == "tool_call"]
    assert calls == ["browser_open", "browser_type", "browser_click"]

    # The screen stream showed the browser: a frame after the browser opened differs from the first.
    opened_at = next(e for e in stored if e["type"] == "tool_result")["createdAt"]
    wait_until(
        lambda got: any(f["data"]["image"] != first["image"] for f in got),
        15,
        of=lambda: frames.of("frame"),
        what="a frame showing the browser",
    )
    later = [f["data"] for f in frames.of("frame") if f["data"]["image"] != first["image"]]
    assert later and base64.b64decode(later[-1]["image"])[:2] == b"\xff\xd8"  # a JPEG
    assert opened_at
    frames.done.set()
    events.done.set()
    assert http.post(f"/api/live-sessions/{sid}/close").status_code == 200
