"""Noticing a model that goes round in circles: the same actions, again and again, on a screen
they do not change. The first `repeats` times are its business; then it is told so; after as many
again the task ends `no_progress` instead of burning the rest of its turns."""

from __future__ import annotations

import json

from agent.context import user_message
from agent.errors import NoProgress

# A batch of only these is the model waiting or looking, not acting: maxTurns and the time budget bound that.
PASSIVE = {"wait", "screenshot"}


class ProgressWatch:
    def __init__(self, repeats: int):
        self.limit = repeats  # 0: never interfere
        self._last: str | None = None
        self._count = 0
        self._unchanged = True  # so far this turn, every batch left the screen as it found it

    def screen(self, before: bytes | None, after: bytes) -> None:
        """One computer call's screenshot before its batch (the one the model saw) and after it."""
        if before != after:
            self._unchanged = False

    def after_turn(self, calls: list[dict]) -> list[dict]:
        """Items to add to the conversation after this turn's calls (a warning, or nothing).

        Raises `NoProgress` when the warning did not help."""
        unchanged, self._unchanged = self._unchanged, True
        batches = [_actions(call) for call in calls]
        if not self.limit or not unchanged or any(b is None for b in batches) or _passive(batches):
            self._last, self._count = None, 0
            return []
        signature = json.dumps(batches, sort_keys=True, default=str)
        self._count = self._count + 1 if signature == self._last else 1
        self._last = signature
        described = _describe(batches)
        if self._count >= 2 * self.limit:
            raise NoProgress(
                f"The model repeated the same actions ({described}) {self._count} times on a screen that did "
                "not change, so the task was ended. Look at the last screenshot, then rephrase the "
                "instruction or do that step by hand."
            )
        if self._count == self.limit:
            return [
                user_message(
                    f"You have done the same thing ({described}) {self._count} times and the screen did not "
                    "change. Doing it again will not help: try something different (another element, a "
                    "keyboard shortcut, scrolling), or stop and explain what blocks you."
                )
            ]
        return []


def _actions(call: dict) -> list[dict] | None:
    """The actions of a computer call (built-in or function tool); None for any other tool."""
    if call.get("type") == "computer_call":
        return list(call.get("actions") or ([call["action"]] if call.get("action") else []))
    if call.get("name") == "computer":
        try:
            return list(json.loads(call.get("arguments") or "{}").get("actions") or [])
        except (ValueError, AttributeError):
            return None
    return None


def _passive(batches: list[list[dict] | None]) -> bool:
    return all(action.get("type") in PASSIVE for batch in batches for action in batch or [])


def _describe(batches: list[list[dict] | None]) -> str:
    parts = []
    for action in (a for batch in batches for a in batch or []):
        part = str(action.get("type"))
        if "x" in action and "y" in action:
            part += f" at ({action['x']}, {action['y']})"
        if action.get("text"):
            part += f" {str(action['text'])[:30]!r}"
        if action.get("keys"):
            part += " " + "+".join(map(str, action["keys"]))
        parts.append(part)
    return ", ".join(parts)[:200]
