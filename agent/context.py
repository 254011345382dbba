"""State shared by the agents of one task: the sink, the client, the budget, usage, the conversation."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent import prompts
from agent.computer import Computer
from agent.errors import Aborted, BudgetExceeded, IncompleteResponse, Resumed, Stopped, TimedOut
from agent.memory import MemoryProvider
from agent.platform.system import SystemInfo, describe
from agent.screen import ScreenConfig
from agent.secrets import Secrets
from agent.sink import Sink
from agent.transports import ModelClient, ModelRequest, ModelResponse

if TYPE_CHECKING:  # both import this module
    from agent.browser_tools import BrowserTools
    from agent.engine import Task

Item = dict[str, Any]  # one conversation item in the Responses API's wire form

# A 1x1 grey PNG: old screenshots in the resent history become this (a computer_call_output needs an image).
PLACEHOLDER_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg=="
)


INCOMPLETE = {
    "max_output_tokens": "The model's answer was cut off at its output token limit; nothing of it was run. "
    "Try again or simplify the instruction.",
    "content_filter": "The provider's content filter stopped the model's answer; nothing of it was run. "
    "Rephrase the instruction.",
    None: "The model's answer was incomplete; nothing of it was run. Try again.",
}


@dataclass
class AgentResult:
    status: str  # succeeded | failed
    summary: str
    items: list[Item]


@dataclass
class Context:
    task: Task
    sink: Sink
    client: ModelClient
    computer: Computer
    memory: MemoryProvider | None
    protected_paths: list[str]
    screen: ScreenConfig
    system: SystemInfo = field(default_factory=describe)  # the OS the instructions name
    started: float = field(default_factory=time.monotonic)
    paused_s: float = 0.0  # time spent paused: the time budget counts active time only
    usage: dict[str, int] = field(default_factory=lambda: {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
    last_call_tokens: int = 0  # what the latest model call cost: the estimate of the next one
    turns: int = 0
    memory_text: str = ""
    memory_ids: list[Any] = field(default_factory=list)
    conversation: list[Item] = field(default_factory=list)  # the items of the agent running now
    browser: BrowserTools | None = None  # the task's browser tools when a browser is configured
    secrets: Secrets = field(default_factory=Secrets)  # typed for real, never shown (agent.secrets)

    def check(self, *, fresh: bool = True) -> None:
        """Before every model call and every action (fresh), and inside every wait (a cached read).

        Raises `Stopped`, `TimedOut`, or, after a pause a person asked for, `Resumed`.
        """
        state = self.sink.control(fresh=fresh)
        if state == "stop":
            raise Stopped()
        if state == "pause":
            self._pause()
        if time.monotonic() - self.started - self.paused_s > self.task.timeout_s:
            raise TimedOut()

    def check_stopped(self) -> None:
        """`check` without the pause: for work that goes on while a person has the desktop."""
        if self.sink.should_stop():
            raise Stopped()
        if time.monotonic() - self.started - self.paused_s > self.task.timeout_s:
            raise TimedOut()

    def _pause(self) -> None:
        """Hand the desktop to the person: nothing held down, wait for resume, then tell the caller."""
        try:
            self.computer.release_all()
        except Exception:  # noqa: BLE001 - the pause must happen whether or not input can be released
            pass
        paused_s = self.sink.pause_until_resumed()
        self.paused_s += paused_s
        raise Resumed(paused_s)

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + max(0.0, seconds)
        while True:
            self.check(fresh=False)
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.05, left))

    def call(self, request: ModelRequest, *, agent: str) -> ModelResponse:
        """One model call. A stop or pause cancels it in flight (`Stopped`, or `Resumed` once the
        person hands the desktop back: the caller looks at the screen again and asks anew)."""
        self.check()
        self._check_budget(upcoming=self.last_call_tokens)
        self.sink.heartbeat()
        try:
            response = self.client.create(
                request, should_abort=lambda: self.sink.control() != "run", on_retry=self._retrying
            )
        except Aborted:
            self.check()
            raise Resumed(0.0) from None  # paused and resumed before we looked: ask again
        self.turns += 1
        for key in self.usage:
            self.usage[key] += response.usage.get(key, 0)
        self.last_call_tokens = response.usage.get("total_tokens", 0)
        self.sink.emit("usage", {"agent": agent, "turn": self.turns, **response.usage, "cumulative": dict(self.usage)})
        if response.status == "incomplete":
            # "Do not execute a partially generated action": a cut-off answer is not acted on at all.
            raise IncompleteResponse(INCOMPLETE.get(response.incomplete_reason, INCOMPLETE[None]))
        self._check_budget(upcoming=0)
        return response

    def _retrying(self, message: str) -> None:
        self.sink.emit("log", {"level": "warning", "message": message, "source": "model"})

    def _check_budget(self, *, upcoming: int) -> None:
        budget = self.task.max_tokens
        used = self.usage["total_tokens"]
        if budget and used + upcoming > budget:
            raise BudgetExceeded(
                f"The task would pass its token budget of {budget:,} tokens: it has used {used:,}"
                + (f" and the next model call would take about {upcoming:,} more" if upcoming else "")
                + ". Raise maxTokens or split the task."
            )

    def structured(
        self, *, name: str, schema: dict[str, Any], instructions: str, text: str, agent: str
    ) -> dict[str, Any]:
        """A small JSON-schema call (router, planner), asked again after a pause. Raises ValueError
        when the answer is no JSON object."""
        request = ModelRequest(
            model=self.task.model,
            instructions=instructions,
            input=[user_message(text)],
            text_format={"type": "json_schema", "name": name, "schema": schema, "strict": True},
        )
        while True:
            try:
                response = self.call(request, agent=agent)
            except Resumed:
                continue
            answer = json.loads(final_text(response.output))
            if not isinstance(answer, dict):
                raise ValueError(f"expected a JSON object, got {type(answer).__name__}")
            return answer

    def instructions(self, base: str) -> str:
        if self.memory_text:
            return base + "\n" + prompts.MEMORY.format(entries=self.memory_text)
        return base

    def emit_messages(self, output: list[Item]) -> str:
        """Emit assistant text and reasoning summaries as `message` events; return the assistant text."""
        texts = []
        for item in output:
            if item.get("type") == "reasoning":
                summary = " ".join(s.get("text", "") for s in item.get("summary") or []).strip()
                if summary:
                    self.sink.emit("message", {"role": "assistant", "kind": "reasoning", "text": summary})
            elif item.get("type") == "message":
                text = message_text(item)
                if text:
                    texts.append(text)
                    self.sink.emit(
                        "message", {"role": "assistant", "kind": "text", "text": text, "phase": item.get("phase")}
                    )
        return "\n".join(texts)


def user_message(text: str) -> Item:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def message_text(item: Item) -> str:
    return "".join(
        c.get("text", "") for c in item.get("content") or [] if c.get("type") in ("output_text", "input_text", "text")
    ).strip()


def final_text(output: list[Item]) -> str:
    return "\n".join(message_text(i) for i in output if i.get("type") == "message").strip()


# Items that carry screenshots as parts, and the key of their parts: a function tool's output, and a
# user message (the screen after a pause).
IMAGE_PARTS = {"function_call_output": "output", "message": "content"}


def prune_images(items: list[Item], keep: int) -> list[Item]:
    """Keep the last `keep` screenshots in a history that is resent; older ones become placeholders."""
    seen = 0
    out = list(items)
    for index in range(len(out) - 1, -1, -1):
        item = out[index]
        if item.get("type") == "computer_call_output":
            seen += 1
            if seen > keep:
                out[index] = {**item, "output": {"type": "computer_screenshot", "image_url": PLACEHOLDER_PNG}}
            continue
        key = IMAGE_PARTS.get(item.get("type", ""))
        parts = item.get(key) if key else None
        if key and isinstance(parts, list) and any(part.get("type") == "input_image" for part in parts):
            seen += 1
            if seen > keep:
                out[index] = {
                    **item,
                    key: [
                        part
                        if part.get("type") != "input_image"
                        else {"type": "input_text", "text": "[older screenshot removed]"}
                        for part in parts
                    ],
                }
    return out


def close_dangling(items: list[Item]) -> list[Item]:
    """Drop tool calls that never got an output (a stop mid-batch): the API refuses such a history."""
    answered = {i.get("call_id") for i in items if i.get("type", "").endswith("_output")}
    return [
        i
        for i in items
        if not (i.get("type") in ("computer_call", "function_call") and i.get("call_id") not in answered)
    ]
