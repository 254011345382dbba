"""State shared by the agents of one task: the sink, the client, the budget, usage, the conversation."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from agent import prompts
from agent.errors import Stopped, TimedOut
from agent.screen import ScreenConfig
from agent.secrets import Secrets
from agent.transports import ModelRequest, ModelResponse

# A 1x1 grey PNG: old screenshots in the resent history become this (a computer_call_output needs an image).
PLACEHOLDER_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg=="
)


@dataclass
class AgentResult:
    status: str  # succeeded | failed
    summary: str
    items: list


@dataclass
class Context:
    task: object
    sink: object
    client: object
    computer: object
    memory: object | None
    protected_paths: list
    screen: ScreenConfig
    started: float = field(default_factory=time.monotonic)
    usage: dict = field(default_factory=lambda: {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
    turns: int = 0
    memory_text: str = ""
    memory_ids: list = field(default_factory=list)
    conversation: list = field(default_factory=list)  # the items of the agent running now
    browser: object | None = None  # the task's BrowserTools when a browser is configured (agent.browser_tools)
    secrets: Secrets = field(default_factory=Secrets)  # typed for real, never shown (agent.secrets)

    def check(self) -> None:
        """Called before every model call and every action, and inside every wait."""
        if self.sink.should_stop():
            raise Stopped()
        if time.monotonic() - self.started > self.task.timeout_s:
            raise TimedOut()

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + max(0.0, seconds)
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.05, left))

    def call(self, request: ModelRequest, *, agent: str) -> ModelResponse:
        self.check()
        self.sink.heartbeat()
        response = self.client.create(request, should_stop=self.sink.should_stop)
        self.turns += 1
        for key in self.usage:
            self.usage[key] += response.usage.get(key, 0)
        self.sink.emit("usage", {"agent": agent, "turn": self.turns, **response.usage, "cumulative": dict(self.usage)})
        return response

    def structured(self, *, name: str, schema: dict, instructions: str, text: str, agent: str) -> dict:
        """A small JSON-schema call (router, planner)."""
        response = self.call(
            ModelRequest(
                model=self.task.model,
                instructions=instructions,
                input=[user_message(text)],
                text_format={"type": "json_schema", "name": name, "schema": schema, "strict": True},
            ),
            agent=agent,
        )
        return json.loads(final_text(response.output))

    def instructions(self, base: str) -> str:
        if self.memory_text:
            return base + "\n" + prompts.MEMORY.format(entries=self.memory_text)
        return base

    def emit_messages(self, output: list[dict]) -> str:
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


def user_message(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def message_text(item: dict) -> str:
    return "".join(
        c.get("text", "") for c in item.get("content") or [] if c.get("type") in ("output_text", "input_text", "text")
    ).strip()


def final_text(output: list[dict]) -> str:
    return "\n".join(message_text(i) for i in output if i.get("type") == "message").strip()


def prune_images(items: list[dict], keep: int) -> list[dict]:
    """Keep the last `keep` screenshots in a history that is resent; older ones become placeholders."""
    seen = 0
    out = list(items)
    for index in range(len(out) - 1, -1, -1):
        item = out[index]
        if item.get("type") == "computer_call_output":
            seen += 1
            if seen > keep:
                out[index] = {**item, "output": {"type": "computer_screenshot", "image_url": PLACEHOLDER_PNG}}
        elif (
            item.get("type") == "function_call_output"
            and isinstance(item.get("output"), list)
            and any(p.get("type") == "input_image" for p in item["output"])
        ):
            seen += 1
            if seen > keep:
                out[index] = {
                    **item,
                    "output": [
                        p
                        if p.get("type") != "input_image"
                        else {"type": "input_text", "text": "[older screenshot removed]"}
                        for p in item["output"]
                    ],
                }
    return out


def close_dangling(items: list[dict]) -> list[dict]:
    """Drop tool calls that never got an output (a stop mid-batch): the API refuses such a history."""
    answered = {i.get("call_id") for i in items if i.get("type", "").endswith("_output")}
    return [
        i
        for i in items
        if not (i.get("type") in ("computer_call", "function_call") and i.get("call_id") not in answered)
    ]
