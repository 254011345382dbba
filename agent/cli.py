"""The cli agent: shell commands through a function tool.

Each command runs in its own process group (so stop and timeout kill everything it started), in the
task's working directory, with an environment scrubbed of Deskhand's secrets, its output capped.
Risky commands go to a person first with the exact command text.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from agent import memory as memory_mod
from agent import prompts
from agent.context import AgentResult, Context, user_message
from agent.errors import Resumed
from agent.sink import ConfirmationRequest
from agent.transports import ModelRequest

OUTPUT_CAP = 16_000  # characters of combined stdout+stderr returned to the model
DEFAULT_TIMEOUT_S = 120.0
MAX_TIMEOUT_S = 600.0

SHELL_TOOL = {
    "type": "function",
    "name": "shell",
    "description": "Run one bash command (non-interactive) in the working directory and get its exit code and "
    "combined output (long output is cut in the middle).",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "command": {"type": "string"},
            "timeout_s": {"type": "number", "description": f"default {DEFAULT_TIMEOUT_S:g}, at most {MAX_TIMEOUT_S:g}"},
        },
        "required": ["command"],
    },
}

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.I)
_SECRET_PREFIXES = ("DESKHAND_", "OPENAI_", "CODEX_")
_SECRET_NAMES = {"DATABASE_URL", "CELERY_BROKER_URL"}


def scrubbed_env(env: dict | None = None) -> dict:
    """The environment a command sees: ours minus anything that could carry a secret."""
    source = os.environ if env is None else env
    return {
        k: v
        for k, v in source.items()
        if not (_SECRET_NAME.search(k) or k.upper().startswith(_SECRET_PREFIXES) or k.upper() in _SECRET_NAMES)
    }


# -- risk rules --
_PRIVILEGE = re.compile(r"(^|[;&|(]\s*|\s)(sudo|su|doas|pkexec|runuser)(\s|$)")
_INSTALL = re.compile(
    r"\b(apt|apt-get|aptitude|dpkg|dnf|yum|pacman|zypper|apk|brew|snap|flatpak)\b.*\b(install|remove|"
    r"purge|-i|-S|-R|upgrade)\b|\bpip3?\s+(install|uninstall)\b|\bnpm\s+(i|install)\s+(-g|--global)"
    r"|\bgem\s+install\b|\bcargo\s+install\b|\bcurl\b[^|]*\|\s*(sudo\s+)?(ba|z)?sh\b"
)
_UPLOAD = re.compile(
    r"\bcurl\b.*(\s-T\s|--upload-file|\s-d\s|\s-d\S|--data|\s-F\s|--form|-X\s*(POST|PUT))"
    r"|\bwget\b.*--(post|body)|\b(scp|sftp|ftp|rsync)\b.*\S+:|\b(nc|ncat|netcat|socat)\b"
)
_SYSTEM_WRITE = re.compile(
    r"(>>?|\btee\b(\s+-a)?|\bcp\b|\bmv\b|\bln\b|\binstall\b|\bchmod\b|\bchown\b|\bsed\s+-i\b|"
    r"\bdd\b[^|]*\bof=)\s*\S*\s*/(etc|usr|bin|sbin|boot|lib|lib64|opt|var|sys|proc|root)\b"
    r"|\bdd\b[^|]*of=/dev/|\bmkfs|\bshutdown\b|\breboot\b|\bsystemctl\b|\bcrontab\b"
)
_DELETE_CMDS = {"rm", "rmdir", "shred", "unlink", "srm", "trash", "trash-put"}


def _deletes_outside(command: str, workdir: str) -> bool:
    try:
        tokens = shlex.split(command, posix=True)
    except ValueError:
        return bool(re.search(r"\b(rm|shred|rmdir)\b", command))
    if "-delete" in tokens and tokens and "find" in tokens:
        return True  # find … -delete: the match set is not visible from here
    root = Path(workdir).resolve()
    in_delete = False
    for token in tokens:
        if token in (";", "&&", "||", "|"):
            in_delete = False
            continue
        base = os.path.basename(token)
        if base in _DELETE_CMDS:
            in_delete = True
            continue
        if in_delete and not token.startswith("-"):
            if token.startswith(("~", "$")):
                return True  # home or a variable: not provably inside the scratch dir
            target = (root / token).resolve()
            if target == root or root not in target.parents:
                return True
    return False


def risk_reason(command: str, workdir: str, protected_paths=()) -> str | None:
    """Why a person must approve this command first, or None."""
    lowered = command.lower()
    for path in protected_paths:
        if path and str(path) in command:
            return f"touches Deskhand's own data ({path})"
    if re.search(r"deskhand|\.codex|auth\.json|api[_-]?token", lowered):
        return "touches Deskhand's own data or tokens"
    if _PRIVILEGE.search(command):
        return "runs with elevated privileges"
    if _INSTALL.search(command):
        return "installs or removes software"
    if _UPLOAD.search(command):
        return "sends data over the network"
    if _SYSTEM_WRITE.search(command):
        return "changes system files or system state"
    if _deletes_outside(command, workdir):
        return "deletes files outside the task's scratch directory"
    return None


def cap_output(text: str, limit: int = OUTPUT_CAP) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n…[{len(text) - limit} characters cut]…\n{text[-half:]}"


def _kill_group(proc: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_command(ctx: Context, command: str, workdir: str, timeout_s: float) -> dict:
    """Run in a new session (own process group); poll so a stop request kills it within ~50 ms."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=workdir,
            env=scrubbed_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        timed_out = False
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    timed_out = True
                    _kill_group(proc)
                    break
                # A stop ends the command (the finally below kills the group); a pause waits for it:
                # a shell command does not use the desktop the person asked for.
                ctx.check_stopped()
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                _kill_group(proc)
            else:
                # The shell may have exited while its background children live on: end them too.
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        out.seek(0)
        text = out.read(OUTPUT_CAP * 4 + 1).decode("utf-8", "replace")
    return {
        "exit_code": None if timed_out else proc.returncode,
        "timed_out": timed_out,
        "output": cap_output(text) + (f"\n[killed after {timeout_s:g} s timeout]" if timed_out else ""),
    }


class CliAgent:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.workdir = ctx.task.workdir or tempfile.mkdtemp(prefix="deskhand-cli-")

    def run(self, instruction: str, history: list[dict]) -> AgentResult:
        ctx = self.ctx
        items = ctx.conversation = list(history) + [user_message(instruction)]
        for _ in range(ctx.task.max_turns):
            try:
                response = ctx.call(
                    ModelRequest(
                        model=ctx.task.model,
                        instructions=ctx.instructions(prompts.CLI.format(workdir=self.workdir)),
                        input=items,
                        tools=[SHELL_TOOL, memory_mod.REMEMBER_TOOL],
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

    def handle(self, call: dict) -> str:
        ctx, call_id, name = self.ctx, call["call_id"], call.get("name")
        try:
            args = json.loads(call.get("arguments") or "{}")
        except ValueError:
            args = {}
        if name == "remember":
            ctx.sink.emit("tool_call", {"call_id": call_id, "name": name, "arguments": args})
            result = memory_mod.save(ctx.memory, args)
            ctx.sink.emit("tool_result", {"call_id": call_id, "name": name, "output": result})
            return result
        command = str(args.get("command") or "") if name == "shell" else ""
        ctx.sink.emit("tool_call", {"call_id": call_id, "name": name, "command": command, "workdir": self.workdir})
        if name != "shell" or not command.strip():
            result = {"error": f"Unknown tool {name!r} or empty command."}
            ctx.sink.emit("tool_result", {"call_id": call_id, "name": name, "status": "error", **result})
            return json.dumps(result)
        reason = risk_reason(command, self.workdir, ctx.protected_paths)
        if reason:
            request = ConfirmationRequest.build(
                "shell_command", {"command": command, "workdir": self.workdir}, f"This command {reason}."
            )
            if ctx.sink.confirm(request) != "confirmed":
                result = {
                    "declined": True,
                    "output": "The person declined this command; it was not run. "
                    "Find another way or explain what is needed.",
                }
                ctx.sink.emit("tool_result", {"call_id": call_id, "name": "shell", "status": "declined"})
                return json.dumps(result)
        try:
            timeout = min(float(args.get("timeout_s") or DEFAULT_TIMEOUT_S), MAX_TIMEOUT_S)
        except (TypeError, ValueError):
            timeout = DEFAULT_TIMEOUT_S
        ctx.check_stopped()
        result = run_command(ctx, command, self.workdir, timeout)
        status = "timeout" if result["timed_out"] else ("ok" if result["exit_code"] == 0 else "error")
        ctx.sink.emit("tool_result", {"call_id": call_id, "name": "shell", "status": status, **result})
        return json.dumps(result)
