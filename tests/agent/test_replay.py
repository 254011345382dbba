"""Replaying a recording through `run_task` (agent.replay), on a screenless computer that shows
synthetic screens, against the fake Responses server: where the target went, text for a new input,
the model taking over where the screen differs, confirmations asked again, pause and stop."""

import io
import threading

import numpy as np
import pytest
from PIL import Image

from agent.computer import Capture
from agent.engine import Task, run_task
from agent.recording import Refill, ReplayPlan, recording_read
from agent.screen import Geometry, ScreenConfig
from agent.sink import RecordingSink
from agent.transports import TransportConfig, build_client
from tests.fakes.computer import FakeComputer

FAST = ScreenConfig(settle_quiet_s=0.0, settle_max_s=0.1)
pytestmark = pytest.mark.timeout(60)

RNG = np.random.default_rng(3)
FIELD = RNG.integers(0, 255, size=(30, 60), dtype=np.uint8)  # a text field, say
BUTTON = RNG.integers(0, 255, size=(24, 48), dtype=np.uint8)


def picture(*widgets, size=(800, 600)) -> Image.Image:
    pixels = np.full((size[1], size[0]), 210, dtype=np.uint8)
    for texture, left, top in widgets:
        pixels[top : top + texture.shape[0], left : left + texture.shape[1]] = texture
    return Image.fromarray(pixels).convert("RGB")


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class PictureComputer(FakeComputer):
    """Shows `screen` (a person or the test may change it between actions)."""

    def __init__(self, screen: Image.Image):
        super().__init__(*screen.size)
        self.screen = screen

    def screenshot(self):
        return Capture(Geometry(0, 0, self.width, self.height), image=self.screen)


RECORDED = picture((FIELD, 100, 100), (BUTTON, 500, 400))


def batch(shot: str, call_id: str, *actions: dict, confirm: str = "") -> list[tuple[str, dict]]:
    """The events of one recorded batch: the screenshot it was chosen on, the call, each action run."""
    events = [
        ("screenshot", {"ref": shot, "width": 800, "height": 600, "mime": "image/png"}),
        ("tool_call", {"call_id": call_id, "name": "computer", "actions": list(actions)}),
    ]
    if confirm:
        events.append(
            ("confirmation_required", {"kind": "gui_action", "action": {"call_id": call_id}, "reason": confirm})
        )
    return events + [("computer_action", {"call_id": call_id, **action}) for action in actions]


def recording(confirm: bool = False):
    """A recorded run: click the field, type the name, click the button."""
    events = batch("s1", "c1", {"type": "click", "x": 130, "y": 115}, {"type": "type", "text": "Hi Ann"})
    events += batch("s2", "c2", {"type": "click", "x": 524, "y": 412}, confirm="sends it" if confirm else "")
    recorded = recording_read("run_rec", events)
    recorded.images = {"s1": png(RECORDED), "s2": png(RECORDED)}
    recorded.input = {"name": "Ann"}
    return recorded


def replay(fake, computer, plan, *, sink=None):
    client = build_client(
        "api-key", TransportConfig(openai_api_key="sk-test-0123456789abcdefgh", openai_base_url=fake.api_base_url)
    )
    sink = sink or RecordingSink()
    try:
        outcome = run_task(
            Task(instruction="Greet Bob and send it.", model="gpt-5.4", replay=plan),
            sink=sink,
            client=client,
            computer=computer,
            screen=FAST,
        )
    finally:
        client.close()
    return outcome, sink


def test_a_replay_aims_where_the_targets_are_now_and_types_the_new_input_without_the_model(fake_openai):
    computer = PictureComputer(picture((FIELD, 300, 50), (BUTTON, 600, 500)))  # both moved
    plan = ReplayPlan(recording(), Refill({"name": "Ann"}, {"name": "Bob"}), wait_s=0.5)
    outcome, sink = replay(fake_openai, computer, plan)

    assert outcome.status == "succeeded" and outcome.model_calls == 0 and fake_openai.requests == []
    assert computer.actions == [("click", 330, 65, "left", ()), ("type", "Hi Bob"), ("click", 624, 512, "left", ())]
    assert outcome.replay == {"recording": "run_rec", "steps": 3, "replayed": 3, "divergedAt": None, "reason": ""}
    assert [e["phase"] for e in sink.of_type("replay")] == ["started", "completed"]
    assert {a["source"] for a in sink.of_type("computer_action")} == {"replay"}
    calls = sink.of_type("tool_call")
    assert calls[0]["located"] == {"score": 1.0, "inPlace": False, "moved": [200, -50]}
    assert [c["step"] for c in calls] == [1, 2, 3]
    # The replayed run is a recording in its turn: its steps aim on its own screenshots.
    again = recording_read("run_replay", sink.events)
    assert again.problems == [] and [s.action for s in again.steps] == [
        {"type": "click", "x": 330, "y": 65},
        {"type": "type", "text": "Hi Bob"},
        {"type": "click", "x": 624, "y": 512},
    ]
    assert all(s.shot in sink.screenshots for s in again.steps)


def test_where_a_target_is_gone_the_model_takes_over_knowing_what_was_done(fake_openai):
    computer = PictureComputer(picture((FIELD, 100, 100)))  # the button is not there
    fake_openai.add_turn(fake_openai.message("Sent it another way."))
    outcome, sink = replay(fake_openai, computer, ReplayPlan(recording(), wait_s=0.3))

    assert outcome.status == "succeeded" and outcome.summary == "Sent it another way." and outcome.model_calls == 1
    assert [a[0] for a in computer.actions] == ["click", "type"]
    assert outcome.replay["replayed"] == 2 and outcome.replay["divergedAt"] == 3
    diverged = sink.of_type("replay")[-1]
    assert diverged["phase"] == "diverged" and diverged["step"] == 3 and "not on the screen" in diverged["reason"]
    assert diverged["action"] == {"type": "click", "x": 524, "y": 412} and diverged["score"] < 0.88
    sent = fake_openai.model_requests()[0].body["input"]
    context = " ".join(p.get("text", "") for p in sent[0]["content"])
    assert "1. click at (130, 115); 2. type 'Hi Ann'" in context and "Step 3 of 3 (click at (524, 412))" in context
    assert any(p["type"] == "input_image" for p in sent[0]["content"])
    assert sent[-1]["content"][0]["text"] == "Greet Bob and send it."


def test_a_batch_confirmed_when_recorded_is_asked_again_and_a_decline_is_a_divergence(fake_openai):
    computer = PictureComputer(RECORDED)
    fake_openai.add_turn(fake_openai.message("Left it unsent."))
    sink = RecordingSink(answers=["declined"])
    outcome, sink = replay(fake_openai, computer, ReplayPlan(recording(confirm=True), wait_s=0.3), sink=sink)

    asked = sink.confirmations[0]
    assert asked.kind == "gui_action" and asked.action["actions"] == [{"type": "click", "x": 524, "y": 412}]
    assert "Replaying step 3: when it was recorded, a person had to confirm it (sends it)" in asked.reason
    assert [a[0] for a in computer.actions] == ["click", "type"]  # the declined click was not done
    assert outcome.replay["divergedAt"] == 3 and "declined" in outcome.replay["reason"]

    computer = PictureComputer(RECORDED)
    outcome, sink = replay(
        fake_openai, computer, ReplayPlan(recording(confirm=True)), sink=RecordingSink(["confirmed"])
    )
    assert outcome.status == "succeeded" and [a[0] for a in computer.actions] == ["click", "type", "click"]


def test_after_a_pause_the_replay_aims_at_the_screen_the_person_left(fake_openai):
    computer = PictureComputer(RECORDED)
    sink = RecordingSink()

    def on_action(action):
        if action[0] == "type":  # a person takes the desktop and moves the button meanwhile
            sink.pause()
            computer.screen = picture((FIELD, 100, 100), (BUTTON, 200, 300))
            threading.Timer(0.3, sink.resume).start()

    computer.on_action = on_action
    outcome, sink = replay(fake_openai, computer, ReplayPlan(recording(), wait_s=0.5), sink=sink)
    assert outcome.status == "succeeded" and fake_openai.requests == []
    assert computer.actions[-1] == ("click", 224, 312, "left", ())
    assert [s["status"] for s in sink.of_type("status")] == ["paused", "running"]
    assert computer.released >= 1


def test_a_stop_during_a_replay_ends_it_before_the_next_action(fake_openai):
    computer = PictureComputer(RECORDED)
    sink = RecordingSink()
    computer.on_action = lambda action: sink.stop()
    outcome, sink = replay(fake_openai, computer, ReplayPlan(recording()), sink=sink)
    assert outcome.status == "stopped" and [a[0] for a in computer.actions] == ["click"]
    assert fake_openai.requests == []


def test_a_recorded_secret_is_typed_from_the_new_runs_secret_and_never_shown(fake_openai):
    recorded = recording_read(
        "run_pw",
        batch("s1", "c1", {"type": "click", "x": 130, "y": 115}, {"type": "type", "text": "<secret:password>"}),
    )
    recorded.images = {"s1": png(RECORDED)}
    computer = PictureComputer(RECORDED)
    client = build_client(
        "api-key",
        TransportConfig(openai_api_key="sk-test-0123456789abcdefgh", openai_base_url=fake_openai.api_base_url),
    )
    sink = RecordingSink()
    outcome = run_task(
        Task(instruction="Sign in.", model="gpt-5.4", secrets={"password": "n3w-s3cret"}, replay=ReplayPlan(recorded)),
        sink=sink,
        client=client,
        computer=computer,
        screen=FAST,
    )
    client.close()
    assert outcome.status == "succeeded" and computer.actions[-1] == ("type", "n3w-s3cret")
    assert "n3w-s3cret" not in repr(sink.events)
    assert sink.of_type("computer_action")[-1]["text"] == "<secret:password>"
