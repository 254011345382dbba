"""Errors the engine reports to a person: a stable `code` and a message that says what to do.

Messages never carry a secret: everything that comes from outside goes through `redact` first.
"""

from __future__ import annotations

import re

_SECRET_PATTERNS = [
    re.compile(r"sk-[A-Za-z0-9_\-]{16,}"),
    re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-~+/=]{8,}"),
]


def redact(text: str, *secrets: str | None) -> str:
    """Mask the given secret values and anything that looks like a key or token."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "***", text)
    return text


class EngineError(Exception):
    code = "engine_error"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(redact(message))
        self.code = code or self.code
        self.message = redact(message)
        self.details = details or {}

    def as_event(self) -> dict:
        return {"code": self.code, "message": self.message, **({"details": self.details} if self.details else {})}


class AuthMissing(EngineError):
    code = "auth_missing"


class AuthFailed(EngineError):
    code = "auth_failed"


class ModelNotSupported(EngineError):
    code = "model_not_supported"


class QuotaExhausted(EngineError):
    code = "quota_exhausted"


class RateLimited(EngineError):
    code = "rate_limited"


class ModelRequestRejected(EngineError):
    """A 4xx the retry loop must not repeat (bad request, unsupported parameter, tool refused)."""

    code = "model_request_rejected"


class ToolNotSupported(ModelRequestRejected):
    """The backend refused the built-in computer tool; the desktop agent falls back to a function tool."""

    code = "tool_not_supported"


class TransportFailure(EngineError):
    code = "transport_failure"


class NoProgress(EngineError):
    """The model kept repeating the same actions on a screen that did not change."""

    code = "no_progress"


class BudgetExceeded(EngineError):
    """The next model call would take the task past its token budget."""

    code = "budget_exceeded"


class BadModelOutput(EngineError):
    code = "bad_model_output"


class IncompleteResponse(EngineError):
    """The response stopped early (output token limit, content filter): none of it is acted on."""

    code = "incomplete_response"


class ComputerUnavailable(EngineError):
    code = "computer_unavailable"


class Aborted(Exception):  # a control signal, not an error
    """A model call (or the wait before its retry) was given up because the caller asked to."""


class Resumed(Exception):  # a control signal, not an error
    """The task was paused by a person and resumed: what was in flight was not done, the screen may
    have changed, and the agent must look again before it acts."""

    def __init__(self, paused_s: float):
        super().__init__(f"paused for {paused_s:.0f} s")
        self.paused_s = paused_s


class Stopped(Exception):
    """Raised inside the engine when the sink asks to stop; `run_task` turns it into `stopped`."""


class TimedOut(Exception):
    """Raised inside the engine when the task's time budget is spent."""


class FailSafeTriggered(Exception):
    """A person pushed the mouse into a screen corner: the emergency stop (pyautogui's fail-safe,
    translated by the computer so the engine never imports pyautogui)."""
