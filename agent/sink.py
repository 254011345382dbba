"""How the engine talks to the outside world: events, stop flag, confirmations, screenshot storage.

The Django side implements `Sink` (rows in the event log, files through the storage API);
`RecordingSink` is the in-memory one for tests and benches.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from agent.errors import Stopped

EVENT_TYPES = (
    "status",
    "log",
    "message",
    "tool_call",
    "tool_result",
    "computer_action",
    "screenshot",
    "error",
    "agent_route",
    "usage",
    "confirmation_required",
    "confirmation_resolved",
    "replay",  # a replay of a recording started, diverged (the model takes over) or completed
)


def fingerprint(kind: str, action: dict) -> str:
    """A stable hash of what would be done, so an answer approves one exact action and no other."""
    canonical = json.dumps({"kind": kind, "action": action}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ConfirmationRequest:
    kind: str  # "safety_check" | "shell_command" | "gui_action" | "browser"
    action: dict
    reason: str
    fingerprint: str

    @classmethod
    def build(cls, kind: str, action: dict, reason: str) -> ConfirmationRequest:
        return cls(kind=kind, action=action, reason=reason, fingerprint=fingerprint(kind, action))

    def as_event(self) -> dict:
        return {"kind": self.kind, "action": self.action, "reason": self.reason, "fingerprint": self.fingerprint}


class Sink(Protocol):
    def emit(self, type: str, data: dict) -> None: ...
    def control(self, *, fresh: bool = False) -> str:
        """ "run", "pause" or "stop". `fresh` (before every model call and action) reads the current
        state; otherwise a read a few hundred milliseconds old may do (tight polling loops)."""
        ...

    def should_stop(self) -> bool: ...
    def pause_until_resumed(self) -> float:
        """Show the execution paused and block until it is resumed; the seconds paused. Raises
        `Stopped` when it is stopped meanwhile."""
        ...

    def confirm(self, request: ConfirmationRequest) -> str: ...
    def heartbeat(self) -> None: ...
    def store_screenshot(self, data: bytes, *, mime: str, width: int, height: int) -> str: ...


class RecordingSink:
    """Keeps everything in memory. `answers` scripts confirm(): a list consumed in order, or a callable.

    `confirm` blocks like a real one would when `confirm_wait_s` is set, and fails closed ("declined")
    when stop is requested meanwhile. `stop()` may be called from any thread.
    """

    def __init__(
        self,
        answers: list[str] | Callable[[ConfirmationRequest], str] | None = None,
        *,
        confirm_wait_s: float = 0.0,
        stop_when: Callable[[str, dict], bool] | None = None,
    ):
        self.events: list[tuple[str, dict]] = []
        self.confirmations: list[ConfirmationRequest] = []
        self.screenshots: dict[str, tuple[bytes, str, int, int]] = {}
        self.heartbeats = 0
        self._answers = answers if answers is not None else []
        self._confirm_wait_s = confirm_wait_s
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._stop_when = stop_when
        self._lock = threading.Lock()

    # -- Sink --
    def emit(self, type: str, data: dict) -> None:
        assert type in EVENT_TYPES, f"unknown event type {type!r}"
        json.dumps(data)  # events must be JSON, like the event log stores them
        with self._lock:
            self.events.append((type, data))
        if self._stop_when and self._stop_when(type, data):
            self._stop.set()

    def control(self, *, fresh: bool = False) -> str:
        if self._stop.is_set():
            return "stop"
        return "pause" if self._pause.is_set() else "run"

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def pause_until_resumed(self) -> float:
        started = time.monotonic()
        self.emit("status", {"status": "paused"})
        while self._pause.is_set() and not self._stop.is_set():
            time.sleep(0.01)
        if self._stop.is_set():
            raise Stopped()
        paused_s = time.monotonic() - started
        self.emit("status", {"status": "running", "pausedSeconds": round(paused_s, 3)})
        return paused_s

    def confirm(self, request: ConfirmationRequest) -> str:
        self.confirmations.append(request)
        self.emit("confirmation_required", request.as_event())
        deadline = time.monotonic() + self._confirm_wait_s
        while time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.01)
        if self._stop.is_set():
            answer = "declined"
        elif callable(self._answers):
            answer = self._answers(request)
        elif self._answers:
            answer = self._answers.pop(0)
        else:
            answer = "declined"  # no answer means no action
        self.emit("confirmation_resolved", {"fingerprint": request.fingerprint, "decision": answer})
        return answer

    def heartbeat(self) -> None:
        self.heartbeats += 1

    def store_screenshot(self, data: bytes, *, mime: str, width: int, height: int) -> str:
        ref = f"shot-{len(self.screenshots) + 1}"
        self.screenshots[ref] = (data, mime, width, height)
        return ref

    # -- test helpers --
    def stop(self) -> None:
        self._stop.set()

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def of_type(self, type: str) -> list[dict]:
        return [data for t, data in self.events if t == type]

    def types(self) -> list[str]:
        return [t for t, _ in self.events]
