"""In control while a real model thinks, through the HTTP API and the real worker: a stop cancels a
slow model call at once, a pause hands the desktop to a person and resume goes on from the fresh
screen, faults are ridden out visibly, budgets end a run with a reason."""

import subprocess
import time

import pytest
from django.test import Client

from agent.computer import get_computer
from tests.fixtures.waiting import wait_until
from tests.runs.test_runs_with_worker import TERMINAL, shell, start, statuses, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120), pytest.mark.scaled]

# A real computer-use call takes 5-30 s.
SLOW_CALL_S = 12


def in_flight(model) -> None:
    wait_until(lambda: model.model_requests(), 30, what="the model request to arrive")


def test_a_stop_cancels_a_slow_model_call_and_ends_the_run_within_two_seconds(
    api, celery_worker_process, model, scenarios_dir
):
    model.add_turn(shell(model, "echo never"), delay_s=SLOW_CALL_S)
    run = start(api, scenarioId="shell-task")
    in_flight(model)

    asked = time.monotonic()
    response = api.post(f"/api/runs/{run['id']}/stop")
    assert response.status_code == 202 and response.json()["status"] == "stopping"
    record = wait_for(api, run["id"], TERMINAL, timeout=10)
    took = time.monotonic() - asked
    assert record["status"] == "stopped" and took < 2.0, (record["status"], took)
    assert statuses(record) == ["queued", "running", "stopping", "stopped"]
    # The request in flight was closed, not waited out, and nothing was asked after the stop.
    wait_until(lambda: model.model_requests()[0].cancelled, 5, what="the fake to see the request closed")
    assert len(model.model_requests()) == 1  # the run has ended: nothing can ask after this
    assert not [e for e in record["events"] if e["type"] == "tool_call"]


def test_a_stop_cancels_a_live_command_s_model_call_within_two_seconds(api, celery_worker_process, model):
    model.add_route("cli")
    model.add_turn(shell(model, "echo never"), delay_s=SLOW_CALL_S)
    session = api.post("/api/live-sessions", {"authProvider": "api-key"}, format="json").json()
    sid = session["id"]
    command = api.post(f"/api/live-sessions/{sid}/commands", {"instruction": "echo in the shell"}, format="json")
    assert command.status_code == 202
    in_flight(model)

    asked = time.monotonic()
    assert api.post(f"/api/live-sessions/{sid}/stop").json()["status"] == "stopping"
    idle = wait_until(
        lambda s: s["status"] == "idle", 10, of=lambda: api.get(f"/api/live-sessions/{sid}").json(), what="idle"
    )
    assert time.monotonic() - asked < 2.0
    assert idle["command"]["status"] == "stopped"
    wait_until(lambda: model.model_requests()[0].cancelled, 5, what="the fake to see the request closed")
    assert len(model.model_requests()) == 1  # the command has ended: nothing can ask after this
    api.post(f"/api/live-sessions/{sid}/close")


@pytest.mark.desktop
def test_a_pause_hands_the_desktop_to_a_person_and_resume_goes_on_from_the_fresh_screen(
    api, celery_worker_process, model, editor, desktop, scenarios_dir
):
    window = next(w for w in get_computer().windows() if editor.title_hint in w["title"])
    x, y = window["x"] + window["width"] // 2, window["y"] + window["height"] // 2
    # The first answer is slow and will be cancelled by the pause; the question is asked again after it.
    model.add_turn(model.message("never used"), delay_s=SLOW_CALL_S)
    model.add_turn(model.computer_call({"type": "click", "x": x, "y": y}, {"type": "type", "text": " and the agent"}))
    model.add_turn(model.message("Typed after the person."))
    run = start(api, scenarioId="notepad-hello", input={"text": "the person and the agent"})
    in_flight(model)

    assert api.post(f"/api/runs/{run['id']}/pause").status_code == 202
    paused = wait_for(api, run["id"], {"paused"}, timeout=10)
    assert paused["pauseRequestedAt"]
    wait_until(lambda: model.model_requests()[0].cancelled, 5, what="the model call to be cancelled")
    # The person uses the desktop: clicks into the editor and types. Not where the agent will click:
    # two clicks on one spot within the double-click time (400 ms) select a word, and with a fast
    # resume the agent's click can come that soon after the person's.
    person_x = window["x"] + window["width"] // 4
    subprocess.run(["xdotool", "mousemove", str(person_x), str(y), "click", "1"], env=desktop.env, check=True)
    subprocess.run(["xdotool", "type", "--delay", "20", "the person"], env=desktop.env, check=True)
    assert len(model.model_requests()) == 1  # nothing asked while the person has the desktop

    assert api.post(f"/api/runs/{run['id']}/resume").status_code == 202
    record = wait_for(api, run["id"], TERMINAL, timeout=60)
    assert record["status"] == "succeeded", record["error"]
    assert statuses(record) == ["queued", "running", "paused", "running", "succeeded"]
    asked_again = model.model_requests()[1].body["input"]
    note = next(i for i in asked_again if i.get("type") == "message" and "paused you" in str(i.get("content")))
    assert any(part.get("type") == "input_image" for part in note["content"])  # the screen after the person
    subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+s"], env=desktop.env, check=True, timeout=10)
    assert editor.saved_text("the person and the agent") == "the person and the agent"
    # Pause and resume of a finished run are conflicts.
    assert api.post(f"/api/runs/{run['id']}/pause").status_code == 409
    assert api.post(f"/api/runs/{run['id']}/resume").status_code == 409


def test_rate_limits_and_an_outage_are_ridden_out_and_shown_in_the_run(
    api, celery_worker_process, model, scenarios_dir
):
    for _ in range(3):
        model.add_error(429, retry_after=1)
    for _ in range(3):
        model.add_error(503)
    model.add_turn(model.message("Made it."))
    run = start(api, scenarioId="shell-task")
    record = wait_for(api, run["id"], TERMINAL, timeout=90)
    assert record["status"] == "succeeded" and record["summary"] == "Made it."
    waits = [
        e["data"]["message"] for e in record["events"] if e["type"] == "log" and "retrying in" in e["data"]["message"]
    ]
    assert len(waits) == 6 and all("rate-limiting" in w for w in waits[:3]), waits
    assert "retrying in 1 s" in waits[0]  # the service's Retry-After, not our own backoff


def test_a_rejected_api_key_fails_the_run_at_once_naming_the_key(api, celery_worker_process, model, scenarios_dir):
    model.add_error(401)
    asked = time.monotonic()
    run = start(api, scenarioId="shell-task")
    record = wait_for(api, run["id"], TERMINAL, timeout=30)
    assert time.monotonic() - asked < 10.0
    assert record["status"] == "failed" and "OPENAI_API_KEY" in record["error"]
    assert len(model.model_requests()) == 1


def test_a_token_budget_ends_the_run_budget_exceeded(api, celery_worker_process, model, scenarios_dir):
    usage = {"input_tokens": 400, "output_tokens": 50, "total_tokens": 450}
    for n in range(4):
        model.add_turn(shell(model, f"echo {n}"), usage=usage)
    run = start(api, scenarioId="shell-task", limits={"maxTokens": 1000})
    assert run["limits"] == {"maxTokens": 1000}
    record = wait_for(api, run["id"], TERMINAL, timeout=30)
    assert record["status"] == "failed" and "token budget of 1,000" in record["error"]
    assert [e["data"]["code"] for e in record["events"] if e["type"] == "error"][-1] == "budget_exceeded"
    assert record["usage"]["total_tokens"] == 900 and len(model.model_requests()) == 2
    usage_events = [e["data"]["cumulative"]["total_tokens"] for e in record["events"] if e["type"] == "usage"]
    assert usage_events == [450, 900]


def test_a_model_going_round_in_circles_ends_no_progress(api, celery_worker_process, model, editor, scenarios_dir):
    for _ in range(8):
        model.add_turn(model.computer_call({"type": "click", "x": 5, "y": 5}))  # the desktop's empty corner
    run = start(api, scenarioId="notepad-hello", input={})
    record = wait_for(api, run["id"], TERMINAL, timeout=60)
    assert record["status"] == "failed"
    assert [e["data"]["code"] for e in record["events"] if e["type"] == "error"][-1] == "no_progress"
    # Six clicks on an unchanged screen (the first may change it: the editor loses the focus), long
    # before the scripted turns or the 20-turn budget run out.
    assert "click at (5, 5)" in record["error"] and "6 times" in record["error"]
    assert len(model.model_requests()) <= 7


def test_invalid_limits_are_refused_naming_the_field(api, scenarios_dir):
    for limits, field in [
        ({"maxTokens": 10}, "limits.maxTokens"),
        ({"maxTurns": 0}, "limits.maxTurns"),
        ({"timeoutSeconds": "soon"}, "limits.timeoutSeconds"),
        ({"budget": 5}, "limits.budget"),
    ]:
        response = api.post("/api/runs", {"scenarioId": "shell-task", "limits": limits}, format="json")
        assert response.status_code == 400 and response.json()["details"]["field"] == field, response.json()


def test_pause_and_resume_endpoints_refuse_cross_site_and_unauthenticated_calls(scenarios_dir):
    assert Client().post("/api/runs/run_x/pause", HTTP_HOST="127.0.0.1").status_code == 401
