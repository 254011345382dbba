"""The cli agent: shell commands through a function tool, in the machine's shell (agent.platform.shell).

Each command runs in its own process group (so stop and timeout kill everything it started), in the
task's working directory, with an environment scrubbed of Deskhand's secrets, its output capped.
Risky commands (agent.shell_risk) go to a person first with the exact command text.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Mapping
from typing import Any

from agent import memory as memory_mod
from agent import prompts
from agent.context import AgentResult, Context, user_message
from agent.errors import Resumed
from agent.platform.proctree import ProcessTree, own_group_options
from agent.platform.shell import Shell, current_shell
from agent.shell_risk import risk_reason
from agent.sink import ConfirmationRequest
from agent.transports import ModelRequest

OUTPUT_CAP = 16_000  # characters of combined stdout+stderr returned to the model
DEFAULT_TIMEOUT_S = 120.0
MAX_TIMEOUT_S = 600.0


def shell_tool(shell: Shell) -> dict[str, Any]:
    return {
        "type": "function",
        "name": "shell",
        "description": f"Run one {shell.name} command (non-interactive) in the working directory and get its exit "
        "code and combined output (long output is cut in the middle).",
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "string"},
                "timeout_s": {
                    "type": "number",
                    "description": f"default {DEFAULT_TIMEOUT_S:g}, at most {MAX_TIMEOUT_S:g}",
                },
            },
            "required": ["command"],
        },
    }


_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.I)
_SECRET_PREFIXES = ("DESKHAND_", "OPENAI_", "CODEX_")
_SECRET_NAMES = {"DATABASE_URL", "CELERY_BROKER_URL"}


def scrubbed_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a command sees: ours minus anything that could carry a secret."""
    source = os.environ if env is None else env
    return {
        k: v
        for k, v in source.items()
        if not (_SECRET_NAME.search(k) or k.upper().startswith(_SECRET_PREFIXES) or k.upper() in _SECRET_NAMES)
    }


def cap_output(text: str, limit: int = OUTPUT_CAP) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n…[{len(text) - limit} characters cut]…\n{text[-half:]}"


def run_command(ctx: Context, command: str, workdir: str, timeout_s: float, shell: Shell) -> dict[str, Any]:
    """Run in a group of its own; poll so a stop request kills the whole tree within ~50 ms."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            shell.argv(command),
            cwd=workdir,
            env=scrubbed_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            **own_group_options(),
        )
        tree = ProcessTree(proc.pid, proc=proc)
        deadline = time.monotonic() + timeout_s
        timed_out = False
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    timed_out = True
                    tree.kill()
                    break
                tree.track()
                # A stop ends the command (the finally below kills the tree); a pause waits for it:
                # a shell command does not use the desktop the person asked for.
                ctx.check_stopped()
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                tree.kill()
            else:
                # The shell may have exited while its background children live on: end them too.
                tree.kill_leftovers()
        out.seek(0)
        text = out.read(OUTPUT_CAP * 4 + 1).decode("utf-8", "replace")
    return {
        "exit_code": None if timed_out else proc.returncode,
        "timed_out": timed_out,
        "output": cap_output(text) + (f"\n[killed after {timeout_s:g} s timeout]" if timed_out else ""),
    }


class CliAgent:
    def __init__(self, ctx: Context, shell: Shell | None = None):
        self.ctx = ctx
        self.shell = shell or current_shell()
        self.workdir = ctx.task.workdir or tempfile.mkdtemp(prefix="deskhand-cli-")

    def run(self, instruction: str, history: list[dict]) -> AgentResult:
        ctx = self.ctx
        items = ctx.conversation = list(history) + [user_message(instruction)]
        for _ in range(ctx.task.max_turns):
            try:
                response = ctx.call(
                    ModelRequest(
                        model=ctx.task.model,
                        instructions=ctx.instructions(prompts.cli(ctx.system, self.shell.name, self.workdir)),
                        input=items,
                        tools=[shell_tool(self.shell), memory_mod.REMEMBER_TOOL],
                        reasoning={"summary": "auto"},
                    ),
                    agent="cli",
                )
            except Resumed as resumed:
                items.append(
                    user_message(f"A person paused you for {resumed.paused_s:.0f} s; go on from where you were.")
                )
                continue
            items.extend(response.output)
            text = ctx.emit_messages(response.output)
            calls = [i for i in response.output if i.get("type") == "function_call"]
            if not calls:
                return AgentResult("succeeded", text or "Done.", items)
            for call in calls:
                items.append({"type": "function_call_output", "call_id": call["call_id"], "output": self.handle(call)})
        return AgentResult(
            "failed",
            f"The task used its whole budget of {ctx.task.max_turns} turns without "
            "finishing. Raise max_turns or split the task.",
            items,
        )

    def handle(self, call: dict[str, Any]) -> str:
        ctx, call_id, name = self.ctx, call["call_id"], call.get("name")
        try:
            args = json.loads(call.get("arguments") or "{}")
        except ValueError:
            args = {}
        if name == "remember":
            ctx.sink.emit("tool_call", {"call_id": call_id, "name": name, "arguments": args})
            saved = memory_mod.save(ctx.memory, args)
            ctx.sink.emit("tool_result", {"call_id": call_id, "name": name, "output": saved})
            return saved
        command = str(args.get("command") or "") if name == "shell" else ""
        ctx.sink.emit("tool_call", {"call_id": call_id, "name": name, "command": command, "workdir": self.workdir})
        if name != "shell" or not command.strip():
            error = {"error": f"Unknown tool {name!r} or empty command."}
            ctx.sink.emit("tool_result", {"call_id": call_id, "name": name, "status": "error", **error})
            return json.dumps(error)
        reason = risk_reason(command, self.workdir, ctx.protected_paths, self.shell.dialect)
        if reason:
            request = ConfirmationRequest.build(
                "shell_command", {"command": command, "workdir": self.workdir}, f"This command {reason}."
            )
            if ctx.sink.confirm(request) != "confirmed":
                declined = {
                    "declined": True,
                    "output": "The person declined this command; it was not run. "
                    "Find another way or explain what is needed.",
                }
                ctx.sink.emit("tool_result", {"call_id": call_id, "name": "shell", "status": "declined"})
                return json.dumps(declined)
        try:
            timeout = min(float(args.get("timeout_s") or DEFAULT_TIMEOUT_S), MAX_TIMEOUT_S)
        except (TypeError, ValueError):
            timeout = DEFAULT_TIMEOUT_S
        ctx.check_stopped()
        result = run_command(ctx, command, self.workdir, timeout, self.shell)
        status = "timeout" if result["timed_out"] else ("ok" if result["exit_code"] == 0 else "error")
        ctx.sink.emit("tool_result", {"call_id": call_id, "name": "shell", "status": status, **result})
        return json.dumps(result)
