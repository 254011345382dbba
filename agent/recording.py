"""A recording: what a succeeded run did on the desktop, read back from its events, so that it can be
done again without the model (agent/replay.py), and the rule that re-fills typed text for a new input.

A run's events hold everything a replay needs (agent/desktop.py writes them):
- a computer `tool_call` lists a batch of actions as the model wrote them, coordinates in pixels of
  the screenshot the model looked at: the latest `screenshot` event before the actions ran;
- one `computer_action` per action that really ran (a declined batch runs none, a failed one fewer);
- `confirmation_required` names the call a person was asked about.

A replay writes the same events (one `tool_call` per replayed action, after the screenshot it found
the target on), so a replayed run, or one the model healed half-way, is a recording in its turn:
the next replay follows the screen as it is now.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.secrets import placeholder

# Actions aimed at a point of the screen: their target is found again on the live screen.
AIMED = ("click", "double_click", "move", "scroll", "drag")
# Actions with nothing to do again: looking at the screen is what a replay does anyway.
NOTHING_TO_REPLAY = ("screenshot",)
# Tools whose calls a replay can leave out: saving a memory entry changes nothing on the screen.
HARMLESS_TOOLS = ("remember",)


@dataclass(frozen=True)
class Step:
    number: int  # from 1, in the order the actions ran
    call_id: str  # the recorded batch it belongs to
    action: dict  # as the model wrote it: coordinates are pixels of `shot`
    # The screenshot (ref) the action was chosen on: an aimed action's coordinates are its pixels.
    shot: str | None
    confirm: dict | None = None  # {"kind", "reason"}: a person had to confirm its batch when recorded

    @property
    def aimed(self) -> bool:
        return self.action.get("type") in AIMED


@dataclass
class Recording:
    run_id: str
    steps: list[Step]
    problems: list[str] = field(default_factory=list)  # why it cannot be replayed; empty when it can
    input: dict = field(default_factory=dict)  # the recorded run's input (secret values masked)
    images: dict[str, bytes] = field(default_factory=dict)  # ref -> image, for the screenshots steps aim on

    @property
    def typed(self) -> list[str]:
        """Every text the recording types, as the model wrote it (secret inputs as placeholders)."""
        return [str(step.action.get("text") or "") for step in self.steps if step.action.get("type") == "type"]

    @property
    def shots(self) -> list[str]:
        """The screenshots a replay looks at (each step's, once)."""
        return list(dict.fromkeys(step.shot for step in self.steps if step.shot))

    def batches(self) -> list[list[Step]]:
        """The steps grouped as they were recorded: one batch per model call (or replayed step)."""
        groups: list[list[Step]] = []
        for step in self.steps:
            if groups and groups[-1][-1].call_id == step.call_id:
                groups[-1].append(step)
            else:
                groups.append([step])
        return groups


def recording_read(run_id: str, events: Iterable[tuple[str, dict]]) -> Recording:
    """The recording in a run's events (type, data), oldest first. Images are added by the caller."""
    steps: list[Step] = []
    problems: list[str] = []
    shot: str | None = None
    planned: dict[str, deque] = {}
    confirms: dict[str, dict] = {}
    for kind, data in events:
        if kind == "screenshot":
            shot = data.get("ref") or shot
        elif kind == "tool_call":
            name = data.get("name")
            if name == "computer":
                planned.setdefault(str(data.get("call_id")), deque()).extend(data.get("actions") or [])
            elif name not in HARMLESS_TOOLS:
                problem = f"it used the {name} tool, and a replay repeats only what was done on the screen"
                if problem not in problems:
                    problems.append(problem)
        elif kind == "confirmation_required":
            call_id = (data.get("action") or {}).get("call_id")
            if call_id:
                confirms[str(call_id)] = {"kind": data.get("kind") or "gui_action", "reason": data.get("reason") or ""}
        elif kind == "computer_action":
            call_id = str(data.get("call_id"))
            queue = planned.get(call_id)
            action = queue.popleft() if queue else None
            if not isinstance(action, dict) or action.get("type") != data.get("type"):
                problems.append(f"its events do not say where action {len(steps) + 1} ({data.get('type')}) aimed")
                continue
            if action.get("type") in NOTHING_TO_REPLAY:
                continue
            aimed = action.get("type") in AIMED
            if aimed and shot is None:
                problems.append(f"no screenshot was kept of the screen step {len(steps) + 1} aimed at")
            steps.append(Step(len(steps) + 1, call_id, dict(action), shot, confirms.get(call_id)))
    if not steps and not problems:
        problems.append("it did nothing on the screen (its result was the model's answer)")
    return Recording(run_id=run_id, steps=steps, problems=problems)


# --- Typed text for a new input ----------------------------------------------------------------


def _pattern(value: str) -> str:
    """`value` where it stands alone: "hello" in "hello world" but not in "othello"."""
    before = r"(?<!\w)" if re.match(r"\w", value) else ""
    after = r"(?!\w)" if re.search(r"\w$", value) else ""
    return before + re.escape(value) + after


class Refill:
    """How the recording's typed text becomes the text for a new input: each value of the recorded
    input that the new input changes is replaced where it was typed. Secret inputs need nothing:
    the recording typed their placeholders, which the new run's secrets fill in as they are typed."""

    def __init__(self, recorded: dict, new: dict, secret_names: Iterable[str] = ()):
        secrets = set(secret_names)
        self.changes = {
            name: (str(recorded[name]), str(new.get(name, "")))
            for name in recorded
            if name not in secrets and name in new and str(recorded[name]) != str(new[name])
        }
        # Longest first: a value that contains another one is replaced whole.
        olds = sorted({old for old, _ in self.changes.values() if old}, key=len, reverse=True)
        self._by_old = {old: new_value for old, new_value in self.changes.values()}
        self._regex = re.compile("|".join(_pattern(old) for old in olds)) if olds else None

    def __call__(self, text: str) -> str:
        if self._regex is None:
            return text
        return self._regex.sub(lambda m: self._by_old[m.group(0)], text)

    def problems(
        self, typed: list[str], *, secrets_given: Iterable[str] = (), secret_names: Iterable[str] = ()
    ) -> list[tuple[str, str]]:
        """(input name, why) for each input the recording cannot be re-filled with."""
        found: list[tuple[str, str]] = []
        olds: dict[str, str] = {}
        for name, (old, _) in sorted(self.changes.items()):
            if not old:
                found.append((name, "the recorded run had it empty, so nothing typed can be told to come from it"))
            elif old in olds:
                found.append(
                    (name, f"it had the same value as {olds[old]!r} when recorded, so which is which is unknown")
                )
            elif not any(re.search(_pattern(old), text) for text in typed):
                found.append(
                    (name, f"the recorded run never typed its value ({old!r}), so a replay cannot use a new one")
                )
            olds.setdefault(old, name)
        given = set(secrets_given)
        for name in sorted(set(secret_names) - given):
            if any(placeholder(name) in text for text in typed):
                found.append((name, "the recording types this secret input; give it"))
        return found


@dataclass
class ReplayPlan:
    """What a run replays (`Task.replay`): the recording, how its typed text is re-filled for this
    run's input, and how long an aimed action waits for its target to show."""

    recording: Recording
    refill: Refill | None = None
    wait_s: float = 5.0
