"""The session's event stream and screen stream through the real ASGI app (Daphne) and a real socket."""

import asyncio
import base64
import io
import subprocess
import threading
import time

import pytest
from PIL import Image

from events.services import event_append
from tests.fixtures.aio import run_coroutine
from tests.fixtures.server import read_sse
from tests.fixtures.waiting import wait_until_async
from tests.sessions.conftest import STREAM_MAX_WIDTH, new_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.scaled, pytest.mark.timeout(120)]


def test_the_event_stream_outlives_idle_and_ends_when_the_session_closes(http):
    session = new_session(http)
    sid = session["id"]
    with http.stream("GET", f"/api/live-sessions/{sid}/events") as response:
        assert response.status_code == 200
        first = read_sse(response, limit=1)
        assert first[0]["event"] == "status" and first[0]["data"]["data"]["status"] == "idle"
        # A command ending puts the session back to idle: the stream must stay open for the next one.
        event_append(owner_id=sid, type="status", data={"status": "executing"})
        event_append(owner_id=sid, type="status", data={"status": "idle"})
        event_append(owner_id=sid, type="message", data={"role": "assistant", "text": "still here"})
        more = read_sse(response, limit=3)
        assert [m["id"] for m in more] == ["2", "3", "4"]
        assert http.post(f"/api/live-sessions/{sid}/close").status_code == 200
        rest = read_sse(response)  # returns when the server ends the stream
    assert rest[-1]["event"] == "status" and rest[-1]["data"]["data"]["status"] == "closed"
    again = http.get(f"/api/live-sessions/{sid}/events", headers={"Last-Event-ID": rest[-1]["id"]})
    assert again.status_code == 204  # EventSource stops reconnecting


def test_the_event_stream_resumes_after_last_event_id_and_refuses_bad_input(http):
    sid = new_session(http)["id"]
    for n in range(3):
        event_append(owner_id=sid, type="log", data={"n": n})
    with http.stream("GET", f"/api/live-sessions/{sid}/events", headers={"Last-Event-ID": "2"}) as response:
        assert [m["id"] for m in read_sse(response, limit=2)] == ["3", "4"]
    assert http.get(f"/api/live-sessions/{sid}/events", headers={"Last-Event-ID": "x"}).status_code == 400
    assert http.get("/api/live-sessions/ses_nope/events").status_code == 404
    assert http.post(f"/api/live-sessions/{sid}/events").status_code == 405


def _frames_and_comments(response, *, frames: int, seconds: float):
    """Read frames and keep-alive comments until `frames` frames or `seconds` pass."""
    got, comments = [], 0
    deadline = time.monotonic() + seconds
    current = {}
    if not hasattr(response, "lines"):
        response.lines = response.iter_lines()  # one iterator per response: a test reads in steps
    for line in response.lines:
        if line.startswith(": keep-alive"):
            comments += 1
        elif line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("data: "):
            current["data"] = line[6:]
        elif line == "" and current:
            got.append(current)
            current = {}
        if len(got) >= frames or time.monotonic() > deadline:
            break
    return got, comments


def _decode(frame: dict) -> tuple[dict, Image.Image]:
    import json

    data = json.loads(frame["data"])
    return data, Image.open(io.BytesIO(base64.b64decode(data["image"])))


def test_the_screen_stream_sends_scaled_jpeg_frames_and_only_keep_alives_while_nothing_changes(http, desktop):
    sid = new_session(http)["id"]
    with http.stream("GET", f"/api/live-sessions/{sid}/screen-stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        first, _ = _frames_and_comments(response, frames=1, seconds=10)
        data, image = _decode(first[0])
        assert first[0]["event"] == "frame" and set(data) == {"timestamp", "width", "height", "image"}
        assert image.format == "JPEG" and (image.width, image.height) == (data["width"], data["height"])
        # 1280x800 at most 640 px wide: halved.
        assert (data["width"], data["height"]) == (STREAM_MAX_WIDTH, desktop.height * STREAM_MAX_WIDTH // desktop.width)
        assert abs(data["timestamp"] / 1000 - time.time()) < 30
        # Nothing on this display changes now (no window is open): keep-alives only, no new frame.
        quiet, comments = _frames_and_comments(response, frames=1, seconds=1.6)
        assert quiet == [] and comments >= 2
        # Something changes: a new frame follows.
        window = subprocess.Popen(["xmessage", "-geometry", "+100+100", "screen stream test"], env=desktop.env)
        try:
            changed, _ = _frames_and_comments(response, frames=1, seconds=10)
        finally:
            window.kill()
            window.wait()
        assert changed and _decode(changed[0])[0]["timestamp"] > data["timestamp"]


def test_the_screen_stream_refuses_unknown_or_closed_sessions(http):
    assert http.get("/api/live-sessions/ses_nope/screen-stream").status_code == 404
    sid = new_session(http)["id"]
    http.post(f"/api/live-sessions/{sid}/close")
    response = http.get(f"/api/live-sessions/{sid}/screen-stream")
    assert response.status_code == 409 and response.json()["code"] == "session_closed"


def test_the_screen_stream_without_a_display_is_503(monkeypatch, settings):
    from django.test import AsyncClient

    from runs.models import Machine

    monkeypatch.delenv("DISPLAY", raising=False)
    # A machine of its own, whose worker is not running: the session's screen can only come from
    # this process (with Redis, the session worker's machine would show its own display instead).
    settings.MACHINE_NAME = "no-display-here"
    Machine.objects.create(name=settings.MACHINE_NAME)

    async def get():
        from asgiref.sync import sync_to_async

        from sessions.services import session_create

        session = await sync_to_async(session_create)(
            model="gpt-5.4", auth_provider="api-key", machine=settings.MACHINE_NAME
        )
        client = AsyncClient(SERVER_NAME="127.0.0.1")
        return await client.get(
            f"/api/live-sessions/{session.pk}/screen-stream", headers={"Authorization": f"Bearer {settings.API_TOKEN}"}
        )

    response = run_coroutine(get())
    assert response.status_code == 503 and response.json()["code"] == "display_unavailable"
    assert "DISPLAY" in response.json()["message"]


def _run(status: str):
    from runs.models import Run

    return Run.objects.create(scenario_id="notepad-hello", auth_provider="api-key", model="gpt-5.4", status=status)


def test_a_running_run_s_screen_stream_sends_frames_and_ends_with_the_run(http, desktop):
    from runs.models import Run

    run = _run(Run.Status.RUNNING)
    with http.stream("GET", f"/api/runs/{run.pk}/screen-stream") as response:
        assert response.status_code == 200
        first, _ = _frames_and_comments(response, frames=1, seconds=10)
        assert first[0]["event"] == "frame" and _decode(first[0])[1].format == "JPEG"
        Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED)
        # Checked every couple of seconds: the stream says why it ends, then closes.
        rest, _ = _frames_and_comments(response, frames=1000, seconds=10)
    assert rest[-1]["event"] == "end" and "The run has ended." in rest[-1]["data"]


def test_a_run_s_screen_stream_refuses_unknown_and_finished_runs(http):
    from runs.models import Run

    assert http.get("/api/runs/run_nope/screen-stream").status_code == 404
    finished = http.get(f"/api/runs/{_run(Run.Status.STOPPED).pk}/screen-stream")
    assert finished.status_code == 409 and finished.json()["code"] == "run_finished"
    assert http.post(f"/api/runs/{_run(Run.Status.RUNNING).pk}/screen-stream").status_code == 405


def test_one_capture_serves_every_viewer_grabs_a_still_screen_when_drawn_on_and_stops_after_the_last(
    desktop, monkeypatch
):
    from sessions import screen
    from sessions.screen import FrameSource

    monkeypatch.setattr(screen, "IDLE_CHECK_S", 5.0)  # only a report can bring the next grab in time
    from tests.fixtures.desktop import start_desktop

    # A desktop of its own: on the shared one, another test's window could still be drawing.
    still = start_desktop(320, 200)
    source = FrameSource(still.display)

    def capturing() -> bool:
        return any(t.name == f"screen-stream{still.display}" and t.is_alive() for t in threading.enumerate())

    async def watch():
        first, second = source.subscribe(), source.subscribe()
        await first.wait(5)
        assert source.latest is not None and source.running
        # Nothing is drawn on this desktop: the X server says so, and the screen is not grabbed again.
        captures, seq = source.captures, source.latest.seq
        await asyncio.sleep(0.5)
        assert source.captures == captures
        # Drawn on: grabbed at once, and encoded once for both viewers.
        subprocess.run(["xsetroot", "-solid", "#336699"], env=still.env, check=True, timeout=10)
        await wait_until_async(lambda: source.latest.seq >= seq + 1, timeout=2, what="the frame of the new background")
        first.close()
        assert source.running  # one viewer is still watching
        second.close()
        await wait_until_async(lambda: not source.running, what="the capture to stop")
        # Nobody watches: the capture thread is gone, so nothing is captured any more.
        await wait_until_async(lambda: not capturing(), what="the capture thread to end")

    try:
        run_coroutine(watch())
    finally:
        still.stop()


class _Shot:
    """What mss hands over: a new picture at every grab (a video playing, say)."""

    size = (64, 48)

    def __init__(self, n: int):
        self.bgra = bytes([n % 256]) * (64 * 48 * 4)


class _Grabber:
    monitors = [{"left": 0, "top": 0, "width": 64, "height": 48}]

    def __init__(self):
        self.grabs = 0

    def grab(self, monitor):
        self.grabs += 1
        return _Shot(self.grabs)


class _SilentReports:
    """A display server whose reports miss everything (a compositor drawing past it)."""

    def __init__(self):
        self.missed_called = self.closed = False

    def wait(self, timeout_s):
        time.sleep(timeout_s)
        return 0

    def drawn_now(self):
        return 0

    def missed(self):
        self.missed_called = True

    def close(self):
        self.closed = True


def test_a_screen_that_changes_with_nothing_reported_is_streamed_by_polling(monkeypatch, settings):
    from sessions import screen

    settings.SCREEN_STREAM_FPS = 30
    reports = _SilentReports()
    monkeypatch.setattr(screen.screen_changes, "watch", lambda display: reports)
    source = screen.FrameSource(":fake")
    grabber = _Grabber()

    async def watch():
        viewer = screen.Viewer(source)
        source._viewers.add(viewer)
        thread = threading.Thread(target=source._loop, args=(grabber,))
        thread.start()
        # Waiting on reports that never come would give a frame a second (IDLE_CHECK_S).
        await wait_until_async(lambda: source.encoded >= 6, timeout=3, what="frames at the frame rate")
        viewer.close()
        await asyncio.to_thread(thread.join, 10)

    run_coroutine(watch())
    assert reports.missed_called and reports.closed
