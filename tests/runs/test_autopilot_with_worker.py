"""Autopilot end to end: a real Celery worker drives mousepad under Xvfb, the fake model server
answers with 2 s per call where speed matters. Record `notepad-hello` once with the model, then
replay it: unchanged screen, new input, a moved and resized window, a closed editor, a stop."""

from datetime import datetime

import pytest

from agent.computer import get_computer
from tests.runs.test_runs_with_worker import TERMINAL, start, wait_for, wait_for_event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180), pytest.mark.desktop]

MODEL_DELAY_S = 2.0  # what each model call takes here (a real one takes 5-30 s)


def window_of(editor) -> dict:
    return next(w for w in get_computer().windows() if editor.title_hint in w["title"])


def centre(editor) -> tuple[int, int]:
    window = window_of(editor)
    return window["x"] + window["width"] // 2, window["y"] + window["height"] // 2


def record(api, model, editor, *, delay_s: float = 0.0) -> dict:
    """A model run of notepad-hello as a real model does it: look, click into the editor and type, report."""
    x, y = centre(editor)
    model.add_turn(model.computer_call({"type": "screenshot"}), delay_s=delay_s)
    model.add_turn(
        model.computer_call({"type": "click", "x": x, "y": y}, {"type": "type", "text": "hello"}), delay_s=delay_s
    )
    model.add_turn(model.message("I typed hello into the editor."), delay_s=delay_s)
    run = wait_for(api, start(api, scenarioId="notepad-hello", mode="model")["id"], TERMINAL, timeout=60)
    assert run["status"] == "succeeded", run
    assert (run["mode"], run["replayOf"], run["modelCalls"], run["replayedSteps"]) == ("model", None, 3, 0)
    return run


def seconds(run: dict) -> float:
    return (datetime.fromisoformat(run["finishedAt"]) - datetime.fromisoformat(run["startedAt"])).total_seconds()


def fresh_editor(desktop, old):
    old.close()
    return desktop.open_editor(name=f"replay-{datetime.now().timestamp()}.txt")


def saved(editor) -> str:
    get_computer().keypress(["CTRL", "S"])
    return editor.saved_text(timeout_s=10)


@pytest.mark.scaled
def test_a_replay_needs_no_model_call_is_four_times_faster_and_types_the_new_input(
    api, celery_worker_process, model, desktop, editor
):
    recording = record(api, model, editor, delay_s=MODEL_DELAY_S)
    assert len(model.model_requests()) == 3
    editor = fresh_editor(desktop, editor)
    try:
        run = start(api, scenarioId="notepad-hello", input={"text": "bonjour"}, replayOf=recording["id"])
        assert (run["mode"], run["replayOf"]) == ("replay", recording["id"])
        replay = wait_for(api, run["id"], TERMINAL, timeout=60)
        assert replay["status"] == "succeeded", (replay["error"], celery_worker_process.tail())
        assert len(model.model_requests()) == 3  # not one request more
        assert (replay["modelCalls"], replay["replayedSteps"], replay["divergedAtStep"]) == (0, 2, None)
        assert seconds(replay) < seconds(recording) / 4, (seconds(replay), seconds(recording))

        actions = [e["data"] for e in replay["events"] if e["type"] == "computer_action"]
        assert [(a["type"], a["source"]) for a in actions] == [("click", "replay"), ("type", "replay")]
        assert actions[1]["text"] == "bonjour"
        phases = [e["data"]["phase"] for e in replay["events"] if e["type"] == "replay"]
        assert phases == ["started", "completed"]
        assert any(e["type"] == "log" and e["data"]["message"] == "Success checks passed." for e in replay["events"])
        assert saved(editor) == "bonjour"
    finally:
        editor.close()


def test_a_moved_and_resized_editor_is_found_or_healed_by_the_model(api, celery_worker_process, model, desktop, editor):
    recording = record(api, model, editor)
    editor = fresh_editor(desktop, editor)
    try:
        desktop.place(editor, 300, 150, 900, 560)
        # Should the replay not find the text area, the model heals: it clicks where the editor is now.
        x, y = centre(editor)
        model.add_turn(model.computer_call({"type": "click", "x": x, "y": y}, {"type": "type", "text": "hello"}))
        model.add_turn(model.message("Typed hello."))

        replay = wait_for(api, start(api, scenarioId="notepad-hello", replayOf=recording["id"])["id"], TERMINAL)
        assert replay["status"] == "succeeded", (replay["error"], celery_worker_process.tail())
        calls = [
            e["data"] for e in replay["events"] if e["type"] == "tool_call" and e["data"].get("source") == "replay"
        ]
        if replay["modelCalls"] == 0:  # found: the click followed the editor
            assert replay["replayedSteps"] == 2 and calls[0]["located"]["inPlace"] is False
            assert len(model.model_requests()) == 3
        else:  # healed
            assert replay["divergedAtStep"] == 1 and replay["modelCalls"] >= 1
        assert saved(editor) == "hello"
    finally:
        editor.close()


def test_with_the_editor_closed_the_replay_diverges_and_says_where_and_the_model_takes_over(
    api, celery_worker_process, model, editor
):
    recording = record(api, model, editor)
    editor.close()
    model.add_turn(model.message("There is no text editor open on this screen."))

    replay = wait_for(api, start(api, scenarioId="notepad-hello", replayOf=recording["id"])["id"], TERMINAL)
    assert (replay["divergedAtStep"], replay["replayedSteps"], replay["modelCalls"]) == (1, 0, 1)
    diverged = next(e["data"] for e in replay["events"] if e["type"] == "replay" and e["data"]["phase"] == "diverged")
    assert diverged["step"] == 1 and diverged["steps"] == 2 and diverged["action"]["type"] == "click"
    assert "not on the screen" in diverged["reason"]
    handed = model.model_requests()[-1].body["input"][0]["content"][0]["text"]
    assert f"by replaying run {recording['id']}" in handed and "Step 1 of 2 (click at" in handed
    # The model answered, but the success check looks at the screen: nothing was typed anywhere.
    assert replay["status"] == "failed" and "success check failed" in replay["error"]


def test_a_replay_waiting_for_its_target_stops_on_request(api, celery_worker_process, model, editor):
    recording = record(api, model, editor)
    editor.close()
    run = start(api, scenarioId="notepad-hello", replayOf=recording["id"])
    wait_for_event(api, run["id"], lambda e: e["type"] == "replay")  # looking for the editor (up to 5 s)
    assert api.post(f"/api/runs/{run['id']}/stop").status_code == 202
    stopped = wait_for(api, run["id"], TERMINAL, timeout=10)
    assert stopped["status"] == "stopped" and len(model.model_requests()) == 3
    assert not any(e["type"] == "computer_action" for e in stopped["events"])
