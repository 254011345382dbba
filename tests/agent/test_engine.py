"""The engine through `run_task`, against the fake Responses server and a screenless computer."""

import time

import pytest

from agent.engine import Task, run_task
from agent.memory import StaticMemory
from agent.screen import ScreenConfig
from agent.sink import RecordingSink
from agent.transports import TransportConfig, build_client
from tests.fakes.computer import FakeComputer

FAST = ScreenConfig(settle_quiet_s=0.0, settle_max_s=0.1)
pytestmark = [pytest.mark.timeout(60), pytest.mark.portable]


def _client(fake, provider="api-key", tokens=None):
    return build_client(
        provider,
        TransportConfig(
            openai_api_key="sk-test-0123456789abcdefgh",
            openai_base_url=fake.api_base_url,
            codex_base_url=fake.codex_base_url,
            retry_base_delay_s=0.01,
            retry_budget_s=2,
        ),
        tokens,
    )


def _run(fake, instruction="do it", route="desktop", sink=None, computer=None, **task):
    sink = sink or RecordingSink()
    computer = computer or FakeComputer()
    outcome = run_task(
        Task(instruction=instruction, model="gpt-5.4", route=route, **task),
        sink=sink,
        client=_client(fake),
        computer=computer,
        screen=FAST,
    )
    return outcome, sink, computer


def test_a_confirmed_safety_check_runs_the_action_and_is_acknowledged(fake_openai):
    check = {"id": "sc_1", "code": "malicious_instructions", "message": "The page asks to do something odd."}
    fake_openai.add_turn(fake_openai.computer_call({"type": "click", "x": 10, "y": 20}, safety_checks=[check]))
    fake_openai.add_turn(fake_openai.message("Clicked."))
    outcome, sink, computer = _run(fake_openai, sink=RecordingSink(["confirmed"]))
    assert outcome.status == "succeeded"
    assert computer.actions == [("click", 10, 20, "left", ())]
    assert sink.confirmations[0].kind == "safety_check" and sink.confirmations[0].reason == check["message"]
    output = fake_openai.model_requests()[1].body["input"][-1]
    assert output["type"] == "computer_call_output" and output["acknowledged_safety_checks"] == [check]


def test_a_declined_safety_check_does_not_run_the_action_and_tells_the_model(fake_openai):
    check = {"id": "sc_1", "code": "sensitive_domain", "message": "Banking site."}
    fake_openai.add_turn(fake_openai.computer_call({"type": "click", "x": 10, "y": 20}, safety_checks=[check]))
    fake_openai.add_turn(fake_openai.message("Understood, stopping."))
    outcome, sink, computer = _run(fake_openai, sink=RecordingSink(["declined"]))
    assert computer.actions == []
    assert sink.of_type("tool_result")[0]["status"] == "declined"
    # Unacknowledged checks are refused by the service and acknowledging would mean approval: the
    # declined call leaves the conversation and a message tells the model what was not run.
    sent = fake_openai.model_requests()[1].body["input"]
    assert not [i for i in sent if i["type"] in ("computer_call", "computer_call_output")]
    told = sent[-1]["content"][0]["text"]
    assert "declined" in told and '"x": 10' in told and "Banking site." in told
    assert outcome.status == "succeeded" and not [i for i in outcome.history if i["type"] == "computer_call"]


def test_stop_mid_batch_ends_promptly_and_releases_keys(fake_openai):
    fake_openai.add_turn(
        fake_openai.computer_call(
            {"type": "click", "x": 1, "y": 2}, {"type": "type", "text": "a"}, {"type": "keypress", "keys": ["ENTER"]}
        )
    )
    fake_openai.add_turn(fake_openai.message("never reached"))
    sink = RecordingSink()
    computer = FakeComputer()
    computer.on_action = lambda action: sink.stop()  # the person presses stop during the first action
    outcome, sink, computer = _run(fake_openai, sink=sink, computer=computer)
    assert outcome.status == "stopped"
    assert computer.actions == [("click", 1, 2, "left", ())]
    assert computer.released == 1
    assert len(fake_openai.model_requests()) == 1  # no model call after the stop
    # The stored history has no dangling call (the API would refuse it next time).
    assert not any(i.get("type") == "computer_call" for i in outcome.history)


def test_stop_during_a_wait_is_prompt(fake_openai):
    fake_openai.add_turn(fake_openai.computer_call({"type": "wait", "seconds": 30}))
    sink = RecordingSink(stop_when=lambda t, d: t == "computer_action" and d["type"] == "wait")
    started = time.monotonic()
    outcome, _, _ = _run(fake_openai, sink=sink)
    assert outcome.status == "stopped" and time.monotonic() - started < 20


def test_it_fails_with_a_clear_error_when_the_model_cannot_be_reached(fake_openai):
    fake_openai.add_error(
        400, {"error": {"message": "The model 'gpt-x' does not exist", "type": "invalid_request_error"}}
    )
    outcome, sink, computer = _run(fake_openai)
    assert outcome.status == "failed"
    assert sink.of_type("error")[0]["code"] == "model_not_supported"
    assert computer.released == 1


@pytest.mark.parametrize(
    "reason, says", [("max_output_tokens", "output token limit"), ("content_filter", "content filter")]
)
def test_an_incomplete_response_runs_none_of_its_calls(fake_openai, tmp_path, reason, says):
    """ "Do not execute a partially generated action": neither agent acts on a cut-off answer."""
    fake_openai.add_incomplete(reason, fake_openai.computer_call({"type": "click", "x": 1, "y": 2}))
    outcome, sink, computer = _run(fake_openai)
    assert outcome.status == "failed" and says in outcome.summary and computer.actions == []
    assert sink.of_type("error")[0]["code"] == "incomplete_response"

    fake_openai.add_incomplete(reason, fake_openai.function_call("shell", {"command": "touch made"}))
    outcome, sink, _ = _run(fake_openai, route="cli", workdir=str(tmp_path))
    assert outcome.status == "failed" and not (tmp_path / "made").exists() and sink.of_type("tool_call") == []


def test_a_failed_response_fails_the_task_with_its_reason(fake_openai):
    fake_openai.add_failed("The model could not produce a response.")
    outcome, sink, computer = _run(fake_openai)
    assert outcome.status == "failed" and "could not produce a response" in outcome.summary
    assert sink.of_type("error")[0]["code"] == "transport_failure" and computer.actions == []


def test_the_turn_budget_ends_the_task(fake_openai):
    for _ in range(3):
        fake_openai.add_turn(fake_openai.computer_call({"type": "screenshot"}))
    outcome, sink, _ = _run(fake_openai, max_turns=2)
    assert outcome.status == "failed" and "budget of 2 turns" in outcome.summary


class CountingComputer(FakeComputer):
    def __init__(self):
        super().__init__()
        self.captures = 0

    def screenshot(self):
        self.captures += 1
        return super().screenshot()


def test_a_first_screenshot_action_captures_the_screen_once(fake_openai):
    # No coordinates to map: nothing is captured before the batch, only the screenshot after it.
    fake_openai.add_turn(fake_openai.computer_call({"type": "screenshot"}))
    fake_openai.add_turn(fake_openai.message("Seen."))
    outcome, sink, computer = _run(fake_openai, computer=CountingComputer())
    assert outcome.status == "succeeded"
    assert computer.captures == 1 and len(sink.of_type("screenshot")) == 1


def test_a_first_click_aims_at_the_screen_as_it_is_and_keeps_that_screen(fake_openai):
    fake_openai.add_turn(fake_openai.computer_call({"type": "click", "x": 10, "y": 20}))
    fake_openai.add_turn(fake_openai.message("Clicked."))
    outcome, sink, computer = _run(fake_openai)
    assert outcome.status == "succeeded"
    assert computer.actions[0][:3] == ("click", 10, 20)
    aimed, after = sink.of_type("screenshot")  # the screen it aimed at, then the one after the batch
    assert aimed["call_id"] == after["call_id"]


def test_a_failing_action_goes_back_to_the_model_as_data(fake_openai):
    fake_openai.add_turn(fake_openai.computer_call({"type": "keypress", "keys": ["HYPERDRIVE"]}))
    fake_openai.add_turn(fake_openai.message("That key does not exist; done anyway."))
    outcome, sink, _ = _run(fake_openai)
    assert outcome.status == "succeeded"
    assert "unknown key name" in sink.of_type("tool_result")[0]["error"]


def test_the_router_falls_back_to_rules_when_its_call_fails(fake_openai):
    fake_openai.fail_route(500)
    fake_openai.add_turn(fake_openai.message("ok"))
    outcome, sink, _ = _run(fake_openai, instruction="run the command `ls` in the folder", route="auto")
    route = sink.of_type("agent_route")[0]
    assert route["route"] == "cli" and route["reason"].startswith("rules:") and "router call failed" in route["reason"]


def test_the_router_uses_the_models_classification(fake_openai):
    fake_openai.add_route("cli", "only files are involved")
    fake_openai.add_turn(fake_openai.message("ok"))
    outcome, sink, _ = _run(fake_openai, route="auto")
    assert sink.of_type("agent_route") == [{"route": "cli", "reason": "only files are involved"}]
    router_call = fake_openai.requests[0].body
    assert router_call["text"]["format"]["type"] == "json_schema"


def test_memory_goes_into_the_instructions_and_remember_saves_through_the_sink(fake_openai):
    memory = StaticMemory(
        [{"id": 7, "content": "Mousepad saves with ctrl+s.", "category": "app_behavior", "appContext": "mousepad"}]
    )
    fake_openai.add_turn(
        fake_openai.function_call(
            "remember", {"content": "The notes file is in ~/notes.", "category": "location", "confidence": 0.9}
        )
    )
    fake_openai.add_turn(fake_openai.message("ok"))
    sink = RecordingSink()
    outcome = run_task(
        Task(instruction="note", model="gpt-5.4", route="desktop"),
        sink=sink,
        client=_client(fake_openai),
        computer=FakeComputer(),
        memory=memory,
        screen=FAST,
    )
    assert outcome.status == "succeeded"
    assert "Mousepad saves with ctrl+s." in fake_openai.model_requests()[0].body["instructions"]
    assert memory.asked == [("note", "mousepad")] and memory.used == [7]
    assert memory.saved[0]["content"] == "The notes file is in ~/notes." and memory.saved[0]["category"] == "location"


def test_old_screenshots_are_pruned_from_the_resent_history(fake_openai):
    for _ in range(5):
        fake_openai.add_turn(fake_openai.computer_call({"type": "screenshot"}))
    fake_openai.add_turn(fake_openai.message("done"))
    outcome, _, _ = _run(fake_openai)
    last_input = fake_openai.model_requests()[-1].body["input"]
    images = [i["output"]["image_url"] for i in last_input if i["type"] == "computer_call_output"]
    assert len(images) == 5 and sum(len(u) > 200 for u in images) == 3
    assert sum(len(i["output"]["image_url"]) > 200 for i in outcome.history if i["type"] == "computer_call_output") == 3


def test_the_planner_runs_steps_and_stops_at_the_first_failure(fake_openai, tmp_path):
    fake_openai.add_turn(
        fake_openai.json_message(
            {
                "steps": [
                    {"instruction": "make a file", "agent": "cli"},
                    {"instruction": "break", "agent": "cli"},
                    {"instruction": "never", "agent": "desktop"},
                ]
            }
        )
    )
    fake_openai.add_turn(fake_openai.function_call("shell", {"command": "echo hi > made.txt"}))
    fake_openai.add_turn(fake_openai.message("made it"))
    fake_openai.add_error(400, {"error": {"message": "boom", "type": "invalid_request_error"}})
    outcome, sink, _ = _run(fake_openai, route="planner", workdir=str(tmp_path))
    assert outcome.status == "failed"
    assert (tmp_path / "made.txt").read_text().strip() == "hi"  # PowerShell writes "hi\r\n"
    assert outcome.summary.startswith("Step 2 of 3 failed") and "Not run: steps 3-3" in outcome.summary
    plan = [m for m in sink.of_type("message") if m.get("kind") == "plan"][0]
    assert len(plan["steps"]) == 3


def test_success_checks_are_read_off_the_desktop_when_the_agent_says_it_is_done(fake_openai):
    fake_openai.add_turn(fake_openai.message("Done."))
    outcome, sink, _ = _run(fake_openai, checks=[{"windowTitle": r"notes\.txt"}])
    assert outcome.status == "succeeded" and outcome.summary == "Done."
    assert {"level": "info", "message": "Success checks passed."} in sink.of_type("log")

    fake_openai.add_turn(fake_openai.message("Done."))
    outcome, sink, _ = _run(fake_openai, checks=[{"windowTitle": "Calculator"}])
    assert outcome.status == "failed" and "no window title matches 'Calculator'" in outcome.summary
    assert sink.of_type("error")[-1]["code"] == "check_failed"


def test_a_secret_is_typed_for_real_but_the_model_events_and_history_only_see_its_placeholder(fake_openai):
    secret = "Correct-Horse-Battery-7"
    fake_openai.add_turn(fake_openai.computer_call({"type": "type", "text": "pw: <secret:password>\n"}))
    # A model that echoes the value (it cannot know it; a page could show it) is masked too.
    fake_openai.add_turn(fake_openai.message(f"I typed it; the screen now shows {secret}."))
    outcome, sink, computer = _run(
        fake_openai, instruction="Type <secret:password> into the field.", secrets={"password": secret}
    )
    assert outcome.status == "succeeded"
    assert computer.actions == [("type", f"pw: {secret}\n")]
    assert sink.of_type("computer_action")[0]["text"] == "pw: <secret:password>\n"
    assert secret not in repr(sink.events)
    assert "the screen now shows ***" in sink.of_type("message")[0]["text"]
    first = fake_openai.model_requests()[0].body
    assert "<secret:password>" in first["instructions"]
    assert secret not in repr([request.body for request in fake_openai.model_requests()])


class _LoggedReports:
    """Change reports that report nothing, and say when they are used."""

    def __init__(self, log):
        self.log = log

    def wait(self, timeout_s):
        self.log.append("wait")
        time.sleep(timeout_s)
        return 0

    def drawn_now(self):
        return 0

    def missed(self):
        self.log.append("missed")

    def close(self):
        self.log.append("close")


class ReportingComputer(FakeComputer):
    """A fake desktop with change reports; logs them beside its screenshots and actions."""

    def __init__(self):
        super().__init__()
        self.log = []
        self.on_action = lambda action: self.log.append(action[0])

    def screenshot(self):
        self.log.append("screenshot")
        return super().screenshot()

    def watch_screen(self):
        self.log.append("watch")
        return _LoggedReports(self.log)


def test_a_batch_settles_on_reports_started_before_its_screen_and_actions_and_closed_after(fake_openai):
    fake_openai.add_turn(fake_openai.computer_call({"type": "keypress", "keys": ["A"]}))
    fake_openai.add_turn(fake_openai.message("Pressed."))
    outcome, _, computer = _run(fake_openai, computer=ReportingComputer())
    assert outcome.status == "succeeded"
    log = computer.log
    # The reports, then the screen before the batch, then the action, then settling on the reports.
    assert log[:3] == ["watch", "screenshot", "keypress"] and "wait" in log
    assert log[-2:] == ["screenshot", "close"] and "missed" not in log


def test_reports_are_closed_when_a_stop_ends_the_batch(fake_openai):
    from agent.errors import Stopped

    fake_openai.add_turn(fake_openai.computer_call({"type": "keypress", "keys": ["A"]}))
    computer = ReportingComputer()

    def stop(action):
        raise Stopped()

    computer.on_action = stop
    outcome, _, _ = _run(fake_openai, computer=computer)
    assert outcome.status == "stopped"
    assert computer.log[-1] == "close"
