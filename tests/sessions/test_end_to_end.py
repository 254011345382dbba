"""A live session end to end, all through the HTTP API: Daphne (the real ASGI app), a real Celery
worker, the real `openai` SDK against the fake model server, a real editor under Xvfb."""

import json
import os
import subprocess
import threading
import time

import pytest

from agent.computer import get_computer
from tests.fixtures.server import read_sse
from tests.fixtures.waiting import wait_until
from tests.sessions.conftest import new_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.desktop, pytest.mark.timeout(180)]


def runs_in(workdir: str) -> bool:
    """A process has `workdir` as its working directory (the cli agent's command has started)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd") == workdir:
                return True
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return False


def session_of(http, sid):
    return http.get(f"/api/live-sessions/{sid}").json()


class Reader(threading.Thread):
    """Reads one SSE stream in the background, keeping every message (or frame) it gets."""

    def __init__(self, server, path):
        super().__init__(daemon=True)
        self.server, self.path, self.messages, self.error = server, path, [], None
        self.done = threading.Event()

    def run(self):
        try:
            with self.server.client(timeout=60) as client, client.stream("GET", self.path) as response:
                self.status = response.status_code
                read_sse(response, until=lambda m: self.messages.append(m) or self.done.is_set())
        except Exception as exc:  # noqa: BLE001 - reported by the test that reads it
            self.error = exc

    def of(self, event):
        return [m for m in self.messages if m.get("event") == event]


def test_type_hello_confirm_the_safety_check_watch_events_and_frames_then_follow_up(
    session_server, http, celery_worker_process, model, editor, desktop
):
    win = next(w for w in get_computer().windows() if editor.title_hint in w["title"])
    x, y = win["x"] + win["width"] // 2, win["y"] + win["height"] // 2
    check = {"id": "sc_1", "code": "malicious_instructions", "message": "The page asks to type; confirm first."}
    model.add_turn(model.computer_call({"type": "screenshot"}))
    model.add_turn(
        model.computer_call(
            {"type": "click", "button": "left", "x": x, "y": y},
            {"type": "type", "text": "hello"},
            safety_checks=[check],
        )
    )
    model.add_turn(model.message("Typed hello."))
    sid = new_session(http)["id"]
    events = Reader(session_server, f"/api/live-sessions/{sid}/events")
    frames = Reader(session_server, f"/api/live-sessions/{sid}/screen-stream")
    events.start()
    frames.start()
    wait_until(lambda: frames.of("frame"), 15, what="the first frame")
    frames_before = len(frames.of("frame"))

    accepted = http.post(f"/api/live-sessions/{sid}/commands", json={"instruction": "type hello in the editor"})
    assert accepted.status_code == 202 and accepted.json()["status"] == "executing"

    asked = wait_until(lambda: events.of("confirmation_required"), 60, what="the confirmation event")
    asked = asked[0]["data"]["data"]
    # Exactly what would be done, and why.
    assert asked["kind"] == "safety_check" and asked["reason"] == check["message"]
    assert [a["type"] for a in asked["action"]["actions"]] == ["click", "type"]
    assert asked["action"]["actions"][1]["text"] == "hello"
    waiting = session_of(http, sid)
    assert waiting["status"] == "waiting_confirmation"
    assert waiting["pendingConfirmation"]["fingerprint"] == asked["fingerprint"]
    busy = http.post(f"/api/live-sessions/{sid}/commands", json={"instruction": "something else"})
    assert busy.status_code == 409 and busy.json()["code"] == "waiting_confirmation"
    assert editor.path.read_text() == ""  # nothing was typed before the answer

    answer = http.post(f"/api/live-sessions/{sid}/confirm", json={"choice": "confirmed"})
    assert answer.status_code == 200 and answer.json()["confirmation"]["status"] == "confirmed"
    done = wait_until(lambda s: s["status"] == "idle", 60, of=lambda: session_of(http, sid), what="idle")
    assert done["command"]["status"] == "succeeded" and done["command"]["route"] == "desktop"
    assert done["command"]["summary"] == "Typed hello."
    # Saved from here, not by the model: a ctrl+S sent right after the paste is sometimes lost by
    # mousepad (seen 2 in 5 full runs; the text was there, the title still said "modified").
    subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+s"], env=desktop.env, check=True, timeout=10)
    wait_until(lambda text: text == "hello", 15, of=editor.path.read_text, what="the saved file")
    assert done["usage"]["total_tokens"] > 0

    wait_until(lambda got: len(got) >= 5, 10, of=lambda: events.of("status"), what="the idle status on the stream")
    types = [m["event"] for m in events.messages]
    for expected in ("agent_route", "tool_call", "computer_action", "screenshot", "confirmation_resolved", "message"):
        assert expected in types, expected
    route = events.of("agent_route")[0]["data"]["data"]
    assert route["route"] == "desktop" and route["reason"]
    statuses = wait_until(
        lambda got: len(got) >= 5,
        10,
        of=lambda: [m["data"]["data"]["status"] for m in events.of("status")],
        what="the idle status on the stream",
    )
    assert statuses == ["idle", "executing", "waiting_confirmation", "executing", "idle"]
    shot = next(e for e in session_of(http, sid)["events"] if e["type"] == "screenshot")
    assert http.get(shot["data"]["url"]).status_code == 200
    # The screen stream showed the text appearing: new frames came while the command ran.
    wait_until(lambda n: n >= frames_before + 2, 10, of=lambda: len(frames.of("frame")), what="frames while typing")
    stamps = [json.loads(json.dumps(f["data"]))["timestamp"] for f in frames.of("frame")]
    assert stamps == sorted(stamps)

    # A follow-up knows what came before: the conversation is carried into the next command.
    model.add_turn(model.message("You asked me to type hello, and I did."))
    assert (
        http.post(f"/api/live-sessions/{sid}/commands", json={"instruction": "what did I ask you?"}).status_code == 202
    )
    second = wait_until(
        lambda s: s["status"] == "idle" and s["commandCount"] == 2, 60, of=lambda: session_of(http, sid), what="idle"
    )
    # The session's usage counts every command, not only the last one.
    assert second["usage"]["total_tokens"] > done["usage"]["total_tokens"]
    sent = json.dumps(model.model_requests()[-1].body["input"])
    assert "type hello in the editor" in sent and "what did I ask you?" in sent

    assert http.post(f"/api/live-sessions/{sid}/close").status_code == 200
    events.join(timeout=15)
    assert not events.is_alive() and events.of("status")[-1]["data"]["data"]["status"] == "closed"
    frames.done.set()
    frames.join(timeout=15)


def test_stop_a_long_shell_command_then_decline_a_risky_one(session_server, http, celery_worker_process, model):
    model.add_route("cli", "shell work")
    model.add_turn(model.function_call("shell", {"command": "sleep 60", "timeout_s": 120}))
    sid = new_session(http)["id"]
    assert http.post(f"/api/live-sessions/{sid}/commands", json={"instruction": "run sleep 60"}).status_code == 202
    call = wait_until(
        lambda: next((e for e in session_of(http, sid)["events"] if e["type"] == "tool_call"), None),
        60,
        what="the shell command's call",
    )
    # The tool_call event comes before the process: stop what really runs, not what is about to.
    wait_until(lambda: runs_in(call["data"]["workdir"]), 15, what="the shell command to start")
    started = time.monotonic()
    stop = http.post(f"/api/live-sessions/{sid}/stop")
    assert stop.status_code == 202
    stopped = wait_until(lambda s: s["status"] == "idle", 15, of=lambda: session_of(http, sid), what="idle after stop")
    assert time.monotonic() - started < 5
    assert stopped["command"]["status"] == "stopped" and stopped["command"]["route"] == "cli"

    # The next instruction is accepted; a risky command waits for a person, and declining tells the model.
    model.add_route("cli", "shell work")
    model.add_turn(model.function_call("shell", {"command": "sudo true"}))
    model.add_turn(model.message("Understood: I did not run it."))
    assert http.post(f"/api/live-sessions/{sid}/commands", json={"instruction": "run sudo true"}).status_code == 202
    pending = wait_until(
        lambda s: s["pendingConfirmation"], 60, of=lambda: session_of(http, sid), what="the confirmation"
    )["pendingConfirmation"]
    assert pending["kind"] == "shell_command" and pending["action"]["command"] == "sudo true"
    assert "privileges" in pending["reason"]
    wrong = http.post(f"/api/live-sessions/{sid}/confirm", json={"choice": "confirmed", "fingerprint": "0" * 64})
    assert wrong.status_code == 409  # an answer about another action approves nothing
    answer = http.post(
        f"/api/live-sessions/{sid}/confirm", json={"choice": "declined", "fingerprint": pending["fingerprint"]}
    )
    assert answer.status_code == 200
    done = wait_until(lambda s: s["status"] == "idle", 60, of=lambda: session_of(http, sid), what="idle")
    assert done["command"]["status"] == "succeeded"
    outputs = [i for i in model.model_requests()[-1].body["input"] if i.get("type") == "function_call_output"]
    assert "declined" in outputs[-1]["output"]
    http.post(f"/api/live-sessions/{sid}/close")


def test_observe_captures_the_screen_windows_and_machine(session_server, http, editor, desktop):
    sid = new_session(http)["id"]
    response = http.post(f"/api/live-sessions/{sid}/observe")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["session"]["id"] == sid
    assert (body["screenshot"]["width"], body["screenshot"]["height"]) == (desktop.width, desktop.height)
    image = http.get(body["screenshot"]["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    window = next(w for w in body["windows"] if editor.title_hint in w["title"])
    assert window["focused"] and window["width"] > 0 and {"x", "y", "height", "app"} <= set(window)
    assert body["machine"]["displayReachable"] and body["machine"]["lastHeartbeat"]
    assert body["machine"]["screen"] == {"width": desktop.width, "height": desktop.height}
    last = session_of(http, sid)["events"][-1]
    assert last["type"] == "screenshot" and last["data"]["ref"] == body["screenshot"]["id"]
    assert last["data"]["source"] == "observe"
