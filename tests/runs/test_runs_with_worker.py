"""Runs through the HTTP API and a real Celery worker subprocess, with the fake model server.

The worker is shared by the whole session (see tests/fixtures/worker.py); every test waits for
its runs to end so the next one starts with an idle desktop.
"""

import io
import json
import os
import time
import zipfile

import pytest

from agent.computer import get_computer
from tests.fixtures.server import AsgiServer, read_sse
from tests.fixtures.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

TERMINAL = {"succeeded", "failed", "stopped", "interrupted"}


@pytest.fixture(scope="module")
def web(django_db_setup, django_db_blocker):
    server = AsgiServer()
    yield server
    server.stop()


def start(api, **body) -> dict:
    response = api.post("/api/runs", {"authProvider": "api-key", **body}, format="json")
    assert response.status_code == 202, response.json()
    return response.json()


def wait_for(api, run_id, statuses, timeout=30.0) -> dict:
    return wait_until(
        lambda record: record["status"] in statuses,
        timeout,
        of=lambda: api.get(f"/api/runs/{run_id}").json(),
        what=f"run {run_id} to be {sorted(statuses)}",
    )


def wait_for_event(api, run_id, predicate, timeout=20.0) -> dict:
    return wait_until(
        lambda: next((e for e in api.get(f"/api/runs/{run_id}").json()["events"] if predicate(e)), None),
        timeout,
        what=f"the event in run {run_id}",
    )


def statuses(record) -> list[str]:
    return [e["data"]["status"] for e in record["events"] if e["type"] == "status"]


def shell(model, command: str):
    return model.function_call("shell", {"command": command})


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.desktop
@pytest.mark.browser
@pytest.mark.scaled
def test_notepad_hello_runs_from_queued_to_succeeded_types_into_the_editor_and_replays(
    api, celery_worker_process, model, editor, web, page, tmp_path
):
    window = next(w for w in get_computer().windows() if editor.title_hint in w["title"])
    x, y = window["x"] + window["width"] // 2, window["y"] + window["height"] // 2
    model.add_turn(model.computer_call({"type": "click", "x": x, "y": y}, {"type": "type", "text": "hello"}))
    model.add_turn(model.message("I typed hello into the editor."))

    run = start(api, scenarioId="notepad-hello", input={})
    assert run["status"] == "queued" and run["model"] == "gpt-5.4" and run["input"] == {"text": "hello"}

    with web.client() as client, client.stream("GET", f"/api/runs/{run['id']}/events") as response:
        assert response.status_code == 200
        messages = read_sse(
            response, until=lambda m: m["event"] == "status" and m["data"]["data"]["status"] in TERMINAL
        )
    seen = [m["data"]["data"]["status"] for m in messages if m["event"] == "status"]
    errors = [m["data"]["data"] for m in messages if m["event"] == "error"]
    assert seen == ["queued", "running", "succeeded"], (errors, celery_worker_process.tail())
    assert [int(m["id"]) for m in messages] == list(range(1, len(messages) + 1))
    kinds = {m["event"] for m in messages}
    assert {"agent_route", "tool_call", "computer_action", "screenshot", "usage", "message"} <= kinds

    # The text is really in the editor: the editor itself saves it.
    get_computer().keypress(["CTRL", "S"])
    wait_until(lambda text: text == "hello", 10, of=editor.path.read_text, what="the saved file")

    record = api.get(f"/api/runs/{run['id']}").json()
    assert record["startedAt"] and record["finishedAt"] and record["usage"]["total_tokens"] > 0
    shot = next(e for e in record["events"] if e["type"] == "screenshot")
    assert shot["data"]["url"] == f"/api/screenshots/{shot['data']['ref']}"
    assert api.get(shot["data"]["url"]).status_code == 200

    replay = api.get(f"/api/runs/{run['id']}/replay")
    assert replay.status_code == 200 and replay["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(replay.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["formatVersion"] == 1 and manifest["run"]["status"] == "succeeded"
    assert manifest["scenario"]["id"] == "notepad-hello" and manifest["model"] == "gpt-5.4"
    assert manifest["timings"]["durationSeconds"] is not None and manifest["usage"]["total_tokens"] > 0
    events = [json.loads(line) for line in archive.read("events.jsonl").decode().splitlines()]
    typed = [e for e in events if e["type"] == "computer_action" and e["data"]["type"] == "type"]
    assert typed[0]["data"]["text"] == "hello"
    image = manifest["screenshots"][0]["file"]
    assert archive.read(image)[:8] == b"\x89PNG\r\n\x1a\n"
    html = archive.read("index.html").decode()
    assert image in html and "hello" in html
    for external in ('src="http', "src='http", 'href="http', "url(http", "<link"):
        assert external not in html
    assert "test-token" not in html and "sk-test" not in archive.read("manifest.json").decode()

    # Unzipped and opened from disk, with no server: the viewer shows the screens and the click.
    archive.extractall(tmp_path / "replay")
    viewer = page
    viewer.goto((tmp_path / "replay" / "index.html").as_uri())
    viewer.wait_for_function("document.getElementById('shot').naturalWidth > 0")
    for _ in manifest["screenshots"]:
        if viewer.locator("#overlay circle").count():
            break
        viewer.keyboard.press("ArrowRight")
    assert viewer.locator("#overlay circle").count() == 1, "the click is drawn on the screen it was made on"
    viewer.wait_for_function("document.getElementById('shot').naturalWidth > 0")


@pytest.mark.scaled
def test_stop_ends_a_running_shell_command_within_two_seconds(
    api, celery_worker_process, model, scenarios_dir, tmp_path
):
    pidfile = tmp_path / "pid"
    model.add_turn(shell(model, f"echo $$ > {pidfile}; exec sleep 30"))
    run = start(api, scenarioId="shell-task")
    wait_for(api, run["id"], {"running"})
    wait_for_event(api, run["id"], lambda e: e["type"] == "tool_call")
    pid = int(wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 10, what="the command's pid"))

    asked = time.monotonic()
    response = api.post(f"/api/runs/{run['id']}/stop")
    assert response.status_code == 202
    record = wait_for(api, run["id"], TERMINAL, timeout=10)
    took = time.monotonic() - asked
    assert record["status"] == "stopped" and took < 2.0, (record["status"], took)
    assert not process_alive(pid)
    assert statuses(record) == ["queued", "running", "stopping", "stopped"]
    # A finished run cannot be stopped again.
    again = api.post(f"/api/runs/{run['id']}/stop")
    assert again.status_code == 409 and again.json()["code"] == "run_finished"


@pytest.mark.scaled
def test_runs_take_the_desktop_one_at_a_time_in_order_and_a_queued_run_stops_at_once(
    api, celery_worker_process, model, scenarios_dir
):
    model.add_turn(shell(model, "sleep 1.5"))
    model.add_turn(model.message("first done"))
    model.add_turn(model.message("second done"))
    first = start(api, scenarioId="shell-task")
    second = start(api, scenarioId="shell-task")
    third = start(api, scenarioId="shell-task")
    wait_for(api, first["id"], {"running"})

    stopped = api.post(f"/api/runs/{third['id']}/stop")
    assert stopped.status_code == 202 and stopped.json()["status"] == "stopped"
    assert api.get(f"/api/runs/{second['id']}").json()["status"] == "queued"

    a = wait_for(api, first["id"], TERMINAL)
    b = wait_for(api, second["id"], TERMINAL)
    assert (a["status"], b["status"]) == ("succeeded", "succeeded")
    assert b["startedAt"] >= a["finishedAt"]
    assert a["summary"] == "first done" and b["summary"] == "second done"
    c = api.get(f"/api/runs/{third['id']}").json()
    assert statuses(c) == ["queued", "stopped"] and c["startedAt"] is None


def test_a_failed_run_is_retried_as_a_new_linked_run(api, celery_worker_process, model, scenarios_dir):
    model.add_error(
        400,
        {"error": {"message": "Invalid value for 'model'.", "type": "invalid_request_error"}},
        {"x-should-retry": "false"},
    )
    original = start(api, scenarioId="shell-task", model="gpt-test", input={"what": "list files"})
    failed = wait_for(api, original["id"], TERMINAL)
    assert failed["status"] == "failed" and "rejected" in failed["error"]
    error = next(e for e in failed["events"] if e["type"] == "error")
    assert error["data"]["message"]

    model.add_turn(model.message("done this time"))
    response = api.post(f"/api/runs/{original['id']}/retry")
    assert response.status_code == 202
    retry = response.json()
    assert retry["retryOf"] == original["id"] and retry["status"] == "queued"
    assert (retry["scenarioId"], retry["model"], retry["input"], retry["authProvider"]) == (
        "shell-task",
        "gpt-test",
        {"what": "list files"},
        "api-key",
    )
    assert wait_for(api, retry["id"], TERMINAL)["status"] == "succeeded"
    assert api.get(f"/api/runs/{original['id']}").json()["retries"] == [retry["id"]]


def test_limits_end_the_run_failed_with_an_error_that_says_what_to_do(api, celery_worker_process, model, scenarios_dir):
    # Turn budget: three turns of shell calls and the scenario allows three.
    for _ in range(3):
        model.add_turn(shell(model, "true"))
    budget = wait_for(api, start(api, scenarioId="shell-task")["id"], TERMINAL)
    assert budget["status"] == "failed" and "budget of 3 turns" in budget["error"]

    # Wall clock: a 5 s scenario whose command would take 30 s.
    model.add_turn(shell(model, "sleep 30"))
    began = time.monotonic()
    timed = wait_for(api, start(api, scenarioId="quick-timeout")["id"], TERMINAL, timeout=20)
    assert timed["status"] == "failed" and time.monotonic() - began < 12
    assert any(e["type"] == "error" and e["data"]["code"] == "timed_out" for e in timed["events"])

    # No ChatGPT sign-in for codex-oauth.
    signed_out = wait_for(api, start(api, scenarioId="shell-task", authProvider="codex-oauth")["id"], TERMINAL)
    assert signed_out["status"] == "failed"
    assert "sign" in signed_out["error"].lower()


def test_a_killed_worker_leaves_the_run_interrupted_and_the_desktop_free(
    api, celery_worker_process, model, scenarios_dir, tmp_path
):
    pidfile = tmp_path / "pid"
    model.add_turn(shell(model, f"echo $$ > {pidfile}; exec sleep 30"))
    run = start(api, scenarioId="shell-task")
    wait_for_event(api, run["id"], lambda e: e["type"] == "tool_call")
    try:
        celery_worker_process.kill()
        assert api.get(f"/api/runs/{run['id']}").json()["status"] == "running"
        celery_worker_process.start()  # its start-up sweep finds the run of the dead process
        record = wait_for(api, run["id"], TERMINAL, timeout=15)
        assert record["status"] == "interrupted"
        assert "killed" in record["statusReason"] and "Nothing was re-run" in record["statusReason"]
        assert statuses(record) == ["queued", "running", "interrupted"]

        # The desktop is free again: the next run executes.
        model.add_turn(model.message("after the crash"))
        assert wait_for(api, start(api, scenarioId="shell-task")["id"], TERMINAL)["status"] == "succeeded"
    finally:
        if not celery_worker_process.alive:
            celery_worker_process.start()
        if pidfile.exists() and pidfile.read_text().strip():
            try:
                os.kill(int(pidfile.read_text()), 9)  # the orphaned command of the killed worker
            except ProcessLookupError:
                pass
