"""Replaying a recording (agent.recording): the recorded actions again, without the model, as long as
the screen allows; the desktop agent takes over where it does not.

- Aimed actions (click, double-click, move, scroll, drag): the target is found on the live screen by
  its recorded image patch (agent.locate): where it was, or elsewhere (a moved or resized window:
  the coordinates follow it), or not at all, which is a divergence.
- Typed text is re-filled for the new input (agent.recording.Refill); a secret's placeholder is
  typed from the new run's secrets, exactly as the model's typing is.
- Nothing waits on the recorded timing. An aimed action waits (at most `ReplayPlan.wait_s`) until
  its target shows; a batch with nothing to aim at (keys, text) waits until the screen looks as it
  did when that batch was recorded (at most `SCREEN_MATCH_WAIT_S`, then it goes on: typing has
  nothing to check); a recorded `wait` becomes a wait for the screen to settle.
- A batch a person had to confirm when it was recorded asks again, and so does one our own risk
  rules flag now; a decline is a divergence (the model is told, as it would be).
- Stop and pause work as in any run: `ctx.check()` before each action; after a pause the target is
  looked for again on the screen the person left.

On a divergence the desktop agent goes on from the screen as it is, told the instruction, what was
replayed and why the replay stopped. Events: `replay` (started, diverged, completed); for each
replayed action a `tool_call` (source "replay", its coordinates in the screenshot taken just
before it) and its `computer_action` (source "replay"). A replayed run is thereby a recording too.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from agent.context import AgentResult, Context, Item
from agent.desktop import DesktopAgent
from agent.errors import EngineError, FailSafeTriggered, Resumed, Stopped, TimedOut
from agent.locate import Found, Lost, Screen, locate
from agent.recording import ReplayPlan, Step
from agent.screen import ModelShot, changed_pixels
from agent.sink import ConfirmationRequest

# How long a batch with nothing to aim at waits for the screen to look as it did when recorded.
SCREEN_MATCH_WAIT_S = 2.0
# Pixels of a quarter-size grey frame that may differ from the recorded screen for it to "look the
# same" (a blinking caret, a clock, another file name in a title bar), as a share of all pixels.
SCREEN_MATCH_TOLERANCE = 0.02
# Between two looks for a target that is not (yet) on the screen.
LOOK_AGAIN_S = 0.2


class Diverged(Exception):
    """The screen does not allow the recorded step: the model takes over from here."""

    def __init__(self, step: Step, reason: str, score: float | None = None):
        super().__init__(reason)
        self.step = step
        self.reason = reason
        self.score = score


@dataclass
class ReplayReport:
    recording: str
    steps: int
    replayed: int = 0
    diverged_at: int | None = None  # the step the model took over at
    reason: str = ""
    done: list[str] = field(default_factory=list)  # the replayed steps in words

    def as_dict(self) -> dict[str, Any]:
        return {
            "recording": self.recording,
            "steps": self.steps,
            "replayed": self.replayed,
            "divergedAt": self.diverged_at,
            "reason": self.reason,
        }


def describe(action: dict) -> str:
    """An action in words, for the model and the events."""
    kind = action.get("type")
    if kind in ("click", "double_click", "move", "scroll"):
        where = f"at ({round(float(action['x']))}, {round(float(action['y']))})"
        return f"{kind.replace('_', '-')} {where}"
    if kind == "drag":
        path = action.get("path") or [{}]
        return f"drag from ({path[0].get('x')}, {path[0].get('y')}) to ({path[-1].get('x')}, {path[-1].get('y')})"
    if kind == "type":
        return f"type {action.get('text')!r}"
    if kind == "keypress":
        return "press " + "+".join(action.get("keys") or [])
    return str(kind)


class Replayer:
    def __init__(self, ctx: Context, plan: ReplayPlan):
        self.ctx = ctx
        self.recording = recording = plan.recording
        self.refill = plan.refill
        self.wait_s = plan.wait_s
        self.agent = DesktopAgent(ctx)
        self.agent.source = "replay"
        self.report = ReplayReport(recording=recording.run_id, steps=len(recording.steps))
        self._screens: dict[str, Screen | None] = {}

    # -- the whole replay --
    def run(self, instruction: str, history: list[Item]) -> AgentResult:
        ctx, recording = self.ctx, self.recording
        ctx.sink.emit(
            "agent_route",
            {
                "route": "desktop",
                "reason": f"replaying run {recording.run_id}; the model only where the screen differs",
            },
        )
        ctx.sink.emit("replay", {"phase": "started", "recording": recording.run_id, "steps": len(recording.steps)})
        call_id = ""
        try:
            if recording.problems:
                raise Diverged(recording.steps[0] if recording.steps else Step(1, "", {}, None), recording.problems[0])
            for index, batch in enumerate(recording.batches(), 1):
                call_id = f"replay-{index}"
                self.play_batch(call_id, batch)
        except Diverged as diverged:
            return self.hand_over(diverged, instruction, history)
        # The screen it leaves, as every batch of the model leaves one.
        self.agent.record_screen(self.agent.capture(settle_first=True), call_id=call_id)
        ctx.sink.emit("replay", {"phase": "completed", "steps": self.report.steps, "replayed": self.report.replayed})
        summary = f"Replayed all {self.report.steps} steps of run {recording.run_id} without calling the model."
        return AgentResult("succeeded", summary, list(history))

    def play_batch(self, call_id: str, batch: list[Step]) -> None:
        actions = [self.filled(step.action) for step in batch]
        self.confirm(call_id, batch, actions)
        for position, (step, action) in enumerate(zip(batch, actions, strict=True)):
            while True:
                try:
                    if position == 0 and not step.aimed:
                        self.wait_for_recorded_screen(step)
                    self.play(call_id, step, action)
                    break
                except Resumed:
                    continue  # a person had the desktop: look at the screen they left, aim again

    def play(self, call_id: str, step: Step, action: dict) -> None:
        ctx, agent = self.ctx, self.agent
        kind = action.get("type")
        located: dict[str, Any] = {}
        if step.aimed:
            shot, action, located = self.aim(step, action)
            ctx.check()
            agent.shot = shot
            agent.record_screen(shot, call_id=call_id)
        else:
            ctx.check()
        ctx.sink.emit(
            "tool_call",
            {
                "call_id": call_id,
                "name": "computer",
                "actions": [action],
                "source": "replay",
                "step": step.number,
                "steps": self.report.steps,
                **({"located": located} if located else {}),
            },
        )
        if kind == "wait":
            # Not the recorded time: the screen says when it is ready.
            agent.capture(settle_first=True, remember=False)
        else:
            try:
                agent.run_action(call_id, action)
            except (Stopped, TimedOut, EngineError, FailSafeTriggered, Resumed):
                raise
            except Exception as exc:  # a failed action is where the replay stops
                raise Diverged(step, f"the {kind} failed: {type(exc).__name__}: {exc}") from exc
        self.report.replayed += 1
        self.report.done.append(f"{step.number}. {describe(action)}")

    # -- the screen --
    def recorded_screen(self, step: Step) -> Screen | None:
        ref = step.shot
        if not ref:
            return None
        if ref not in self._screens:
            data = self.recording.images.get(ref)
            self._screens[ref] = Screen(Image.open(io.BytesIO(data))) if data else None
        return self._screens[ref]

    def live(self) -> tuple[ModelShot, Screen]:
        """The settled screen, as the model would see it, and in grey for matching."""
        shot = self.agent.capture(settle_first=True, remember=False)
        return shot, Screen(Image.open(io.BytesIO(shot.data)))

    def aim(self, step: Step, action: dict) -> tuple[ModelShot, dict, dict]:
        """The live screen with the step's target on it, and the action aimed at it there."""
        recorded = self.recorded_screen(step)
        if recorded is None:
            raise Diverged(step, "the screenshot it was recorded on is missing")
        points = _points(action)
        deadline = time.monotonic() + self.wait_s
        while True:
            shot, live = self.live()
            ends = points[:1] if len(points) == 1 else [points[0], points[-1]]
            found = [locate(recorded, point, live) for point in ends]
            lost = next((f for f in found if isinstance(f, Lost)), None)
            if lost is None:
                break
            if time.monotonic() >= deadline:
                raise Diverged(step, lost.reason, lost.score)
            self.ctx.sleep(LOOK_AGAIN_S)
        first, last = found[0], found[-1]
        assert isinstance(first, Found) and isinstance(last, Found)
        moved = (round(first.x - points[0][0]), round(first.y - points[0][1]))
        located: dict[str, Any] = {
            "score": round(min(first.score, last.score), 3),
            "inPlace": first.in_place and last.in_place,
        }
        if moved != (0, 0):
            located["moved"] = list(moved)
        return shot, _aimed(action, points, first, last), located

    def wait_for_recorded_screen(self, step: Step) -> None:
        """Before keys or text: until the screen looks as it did when they were recorded, or a while."""
        recorded = self.recorded_screen(step)
        if recorded is None:
            return
        reference = Image.fromarray(recorded.pixels).reduce(4)
        allowed = SCREEN_MATCH_TOLERANCE * reference.width * reference.height
        deadline = time.monotonic() + min(SCREEN_MATCH_WAIT_S, self.wait_s)
        while True:
            _, live = self.live()
            if changed_pixels(reference, Image.fromarray(live.pixels).reduce(4)) <= allowed:
                return
            if time.monotonic() >= deadline:
                return
            self.ctx.sleep(LOOK_AGAIN_S)

    # -- text, confirmations --
    def filled(self, action: dict) -> dict:
        if action.get("type") == "type" and self.refill is not None:
            return {**action, "text": self.refill(str(action.get("text") or ""))}
        return dict(action)

    def confirm(self, call_id: str, batch: list[Step], actions: list[dict]) -> None:
        recorded = next((step.confirm for step in batch if step.confirm), None)
        risks = self.agent.gui_risks(actions)
        if not recorded and not risks:
            return
        reasons = []
        if recorded:
            reasons.append(f"when it was recorded, a person had to confirm it ({recorded['reason']})")
        if risks:
            reasons.append("this batch " + "; ".join(risks))
        first = batch[0].number
        steps = f"step {first}" if len(batch) == 1 else f"steps {first}-{batch[-1].number}"
        request = ConfirmationRequest.build(
            recorded["kind"] if recorded else "gui_action",
            {"call_id": call_id, "actions": actions},
            f"Replaying {steps}: " + "; and ".join(reasons) + ".",
        )
        if self.ctx.sink.confirm(request) != "confirmed":
            self.ctx.check_stopped()  # a stop declines what waits; that is no divergence
            raise Diverged(batch[0], "a person declined it, so it was not done; do not do it again")

    # -- the model takes over --
    def hand_over(self, diverged: Diverged, instruction: str, history: list[Item]) -> AgentResult:
        ctx, report = self.ctx, self.report
        step = diverged.step
        report.diverged_at, report.reason = step.number, diverged.reason
        ctx.sink.emit(
            "replay",
            {
                "phase": "diverged",
                "step": step.number,
                "steps": report.steps,
                "action": step.action,
                "reason": diverged.reason,
                **({"score": round(diverged.score, 3)} if diverged.score is not None else {}),
            },
        )
        agent = DesktopAgent(ctx)
        shot = agent.capture(settle_first=True)
        agent.record_screen(shot)
        done = ("These steps were replayed: " + "; ".join(report.done) + ". ") if report.done else ""
        what = f" ({describe(step.action)})" if step.action else ""
        text = (
            f"This task was started without you, by replaying run {report.recording}, which did it before. "
            f"{done}Step {step.number} of {report.steps}{what} could not be replayed: {diverged.reason}. "
            "This is the screen now. Finish the task from here; do not redo what is already done."
        )
        context = {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": text},
                {"type": "input_image", "image_url": shot.data_url(), "detail": "original"},
            ],
        }
        return agent.run(instruction, [*history, context])


def _points(action: dict) -> list[tuple[float, float]]:
    if action.get("type") == "drag":
        return [(float(p["x"]), float(p["y"])) for p in action.get("path") or []] or [(0.0, 0.0)]
    return [(float(action["x"]), float(action["y"]))]


def _aimed(action: dict, points: list[tuple[float, float]], first: Found, last: Found) -> dict:
    """`action` with its coordinates where its target was found (a drag's middle points shifted in
    proportion between its two ends)."""
    if action.get("type") != "drag":
        return {**action, "x": round(first.x), "y": round(first.y)}
    start_dx, start_dy = first.x - points[0][0], first.y - points[0][1]
    end_dx, end_dy = last.x - points[-1][0], last.y - points[-1][1]
    count = max(1, len(points) - 1)
    path = [
        {
            "x": round(x + start_dx + (end_dx - start_dx) * i / count),
            "y": round(y + start_dy + (end_dy - start_dy) * i / count),
        }
        for i, (x, y) in enumerate(points)
    ]
    return {**action, "path": path}
