"""Staying in control of the engine: pause and resume, faults ridden out visibly, no endless loops,
token budgets. Through `run_task` against the fake Responses server and a screenless computer."""

import threading

import pytest

from agent.engine import Task, run_task
from agent.screen import ScreenConfig
from agent.sink import RecordingSink
from agent.transports import TransportConfig, build_client
from tests.fakes.computer import FakeComputer

FAST = ScreenConfig(settle_quiet_s=0.0, settle_max_s=0.1)
pytestmark = pytest.mark.timeout(60)


def _run(fake, *, sink=None, computer=None, api_key="sk-test-0123456789abcdefgh", budget_s=5, **task):
    client = build_client(
        "api-key",
        TransportConfig(
            openai_api_key=api_key, openai_base_url=fake.api_base_url, retry_base_delay_s=0.01, retry_budget_s=budget_s
        ),
    )
    sink = sink or RecordingSink()
    computer = computer or FakeComputer()
    try:
        outcome = run_task(
            Task(instruction="do it", model="gpt-5.4", route="desktop", **task),
            sink=sink,
            client=client,
            computer=computer,
            screen=FAST,
        )
    finally:
        client.close()
    return outcome, sink, computer


def _texts(item: dict) -> str:
    return " ".join(str(part.get("text", "")) for part in item.get("content") or [] if isinstance(part, dict))


def test_a_pause_hands_the_desktop_over_and_the_model_resumes_from_a_fresh_screen(fake_openai):
    fake_openai.add_turn(
        fake_openai.computer_call({"type": "click", "x": 10, "y": 10}, {"type": "type", "text": "not yet"})
    )
    fake_openai.add_turn(fake_openai.message("Done after the pause."))
    sink = RecordingSink()
    computer = FakeComputer()

    def on_action(action):
        if action[0] == "click" and not sink.of_type("status"):
            sink.pause()  # a person asks for the desktop mid-batch; they hand it back a moment later
            threading.Timer(0.3, sink.resume).start()

    computer.on_action = on_action
    outcome, sink, computer = _run(fake_openai, sink=sink, computer=computer)

    assert outcome.status == "succeeded" and outcome.summary == "Done after the pause."
    assert [a[0] for a in computer.actions] == ["click"]  # the typing after the pause was not done
    assert computer.released >= 1  # nothing held down while the person had the desktop
    statuses = [s["status"] for s in sink.of_type("status")]
    assert statuses == ["paused", "running"] and sink.of_type("status")[1]["pausedSeconds"] >= 0.3
    resent = fake_openai.model_requests()[1].body["input"]
    note = next(i for i in resent if i.get("type") == "message" and "paused" in _texts(i))
    assert "action 2" in _texts(note)
    output = next(i for i in resent if i.get("type") == "computer_call_output")
    assert output["output"]["image_url"].startswith("data:image/")  # the screen after the pause


def test_a_stop_while_paused_ends_the_task_stopped(fake_openai):
    fake_openai.add_turn(fake_openai.computer_call({"type": "click", "x": 10, "y": 10}))
    sink = RecordingSink()
    computer = FakeComputer()
    computer.on_action = lambda action: (sink.pause(), threading.Timer(0.2, sink.stop).start())
    fake_openai.add_turn(fake_openai.computer_call({"type": "click", "x": 20, "y": 20}))
    outcome, sink, _ = _run(fake_openai, sink=sink, computer=computer)
    assert outcome.status == "stopped"
    assert len(fake_openai.model_requests()) == 1  # nothing asked after the stop


def test_rate_limits_and_outages_are_ridden_out_and_shown_to_the_person(fake_openai):
    for _ in range(3):
        fake_openai.add_error(
            429, {"error": {"message": "Rate limit reached", "type": "requests"}}, {"retry-after": "0"}
        )
    for _ in range(3):
        fake_openai.add_error(503, {"error": {"message": "Service unavailable", "type": "server_error"}})
    fake_openai.add_turn(fake_openai.message("Made it."))
    outcome, sink, _ = _run(fake_openai)
    assert outcome.status == "succeeded" and outcome.summary == "Made it."
    waits = [log["message"] for log in sink.of_type("log") if "retrying in" in log["message"]]
    assert len(waits) == 6, waits
    assert all("rate-limiting" in w for w in waits[:3]) and "attempt 4" in waits[2]
    assert all("HTTP 503" in w for w in waits[3:])


def test_a_fault_that_retrying_cannot_fix_fails_at_once_saying_what_to_fix(fake_openai):
    fake_openai.add_error(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
    outcome, sink, _ = _run(fake_openai, budget_s=60)
    assert outcome.status == "failed" and "OPENAI_API_KEY" in outcome.summary
    assert sink.of_type("error")[-1]["code"] == "auth_failed"
    assert len(fake_openai.requests) == 1


def test_the_retry_budget_ends_a_storm_with_a_clear_message(fake_openai):
    for _ in range(50):
        fake_openai.add_error(503, {"error": {"message": "Service unavailable", "type": "server_error"}})
    outcome, sink, _ = _run(fake_openai, budget_s=0.5)
    assert outcome.status == "failed" and "Gave up after" in outcome.summary and "retry budget" in outcome.summary


def test_a_model_clicking_one_spot_on_an_unchanged_screen_is_told_then_stopped(fake_openai):
    for _ in range(10):
        fake_openai.add_turn(fake_openai.computer_call({"type": "click", "x": 640, "y": 360}))
    outcome, sink, computer = _run(fake_openai, max_turns=30, no_progress_repeats=3)
    assert outcome.status == "failed" and sink.of_type("error")[-1]["code"] == "no_progress"
    assert "click at (640, 360)" in outcome.summary and "6 times" in outcome.summary
    assert len(computer.actions) == 6 and len(fake_openai.model_requests()) == 6
    fourth = fake_openai.model_requests()[3].body["input"]
    assert any("3 times and the screen did not change" in _texts(i) for i in fourth if i.get("type") == "message")


def test_a_model_that_makes_progress_is_left_alone(fake_openai):
    for x in range(8):
        fake_openai.add_turn(fake_openai.computer_call({"type": "click", "x": 100 + x, "y": 100}))
    fake_openai.add_turn(fake_openai.message("Clicked them all."))
    outcome, _, _ = _run(fake_openai, max_turns=30, no_progress_repeats=3)
    assert outcome.status == "succeeded"


def test_a_token_budget_ends_the_task_before_a_call_would_pass_it(fake_openai):
    usage = {"input_tokens": 400, "output_tokens": 50, "total_tokens": 450}
    for x in range(5):
        fake_openai.add_turn(fake_openai.computer_call({"type": "click", "x": x, "y": 1}), usage=usage)
    outcome, sink, _ = _run(fake_openai, max_tokens=1000)
    assert outcome.status == "failed" and sink.of_type("error")[-1]["code"] == "budget_exceeded"
    assert "1,000 tokens" in outcome.summary and "900" in outcome.summary
    assert len(fake_openai.model_requests()) == 2 and outcome.usage["total_tokens"] == 900
    assert sink.of_type("usage")[-1]["cumulative"]["total_tokens"] == 900


@pytest.mark.parametrize(
    "reason, words", [("max_output_tokens", "output token limit"), ("content_filter", "content filter")]
)
def test_an_incomplete_answer_ends_the_task_with_its_reason(fake_openai, reason, words):
    fake_openai.add_incomplete(reason, fake_openai.computer_call({"type": "click", "x": 1, "y": 1}))
    outcome, _, computer = _run(fake_openai)
    assert outcome.status == "failed" and words in outcome.summary
    assert computer.actions == []  # nothing of a cut-off answer is acted on
