"""The one entry point runs and live sessions call: `run_task`.

It never raises for model or tool errors: it emits an `error` event that says what happened and what
to do, and returns a `failed` Outcome. Held keys and buttons are released however it ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent import memory as memory_mod
from agent import planner, router
from agent.browser import BrowserConfig
from agent.cli import CliAgent
from agent.context import AgentResult, Context, close_dangling, prune_images
from agent.desktop import DesktopAgent
from agent.errors import EngineError, Stopped, TimedOut, redact
from agent.screen import ScreenConfig
from agent.secrets import MaskingSink, Secrets

MEMORY_BUDGET_TOKENS = 1200


@dataclass
class Task:
    instruction: str
    model: str
    route: str = "auto"  # auto | desktop | cli | planner
    max_turns: int = 30
    timeout_s: float = 600.0
    history: list = field(default_factory=list)  # prior conversation items of a live session
    workdir: str | None = None  # the cli agent's working directory (a fresh scratch dir when None)
    secrets: dict = field(default_factory=dict)  # input name -> value, behind placeholders (agent.secrets)


@dataclass
class Outcome:
    status: str  # "succeeded" | "failed" | "stopped"
    summary: str
    history: list
    usage: dict


def run_task(
    task: Task,
    *,
    sink,
    client,
    computer,
    memory=None,
    protected_paths=(),
    screen: ScreenConfig | None = None,
    browser: BrowserConfig | None = None,
) -> Outcome:
    """`browser`: the browser the agents may drive (profile folder, forbidden origins...); without it
    no browser tools are offered."""
    secrets = Secrets(task.secrets)
    if secrets:
        sink = MaskingSink(sink, secrets)
    ctx = Context(
        task=task,
        sink=sink,
        client=client,
        computer=computer,
        memory=memory,
        protected_paths=list(protected_paths),
        screen=screen or ScreenConfig(),
        secrets=secrets,
    )
    if browser is not None:
        from agent.browser_tools import BrowserTools

        ctx.browser = BrowserTools(ctx, browser)
    history = list(task.history or [])
    result: AgentResult | None = None
    try:
        _load_memory(ctx, task.instruction)
        route, _, browser_first = router.choose(ctx, task.instruction)
        result = _run_agent(ctx, "browser" if browser_first else route, task.instruction, history)
        status, summary = result.status, result.summary
        if status == "failed":
            sink.emit("error", {"code": "task_failed", "message": summary})
    except Stopped:
        status, summary = "stopped", "Stopped on request."
    except TimedOut:
        status = "failed"
        summary = f"The task ran out of its time budget ({task.timeout_s:g} s). Raise the timeout or split the task."
        sink.emit("error", {"code": "timed_out", "message": summary})
    except EngineError as exc:
        status, summary = "failed", exc.message
        sink.emit("error", exc.as_event())
    except Exception as exc:  # noqa: BLE001 - the caller must always get an Outcome
        if type(exc).__name__ == "FailSafeException":
            status, summary = (
                "stopped",
                (
                    "Stopped: the mouse was pushed into a screen corner (the emergency stop). "
                    "Start a new task when ready."
                ),
            )
            sink.emit("error", {"code": "fail_safe", "message": summary})
        else:
            status = "failed"
            summary = redact(
                f"Internal error in the engine: {type(exc).__name__}: {exc}. This is a bug; the "
                "worker log has the details."
            )
            sink.emit("error", {"code": "internal_error", "message": summary})
    finally:
        if ctx.browser is not None:
            try:
                ctx.browser.close()  # lets go of the browser; a managed one stays open for the next task
            except Exception:  # noqa: BLE001
                pass
        try:
            computer.release_all()
        except Exception:  # noqa: BLE001 - nothing left to do about it; the outcome matters more
            pass
        if memory is not None and ctx.memory_ids:
            try:
                memory.mark_used(ctx.memory_ids)
            except Exception:  # noqa: BLE001
                pass
    items = result.items if result is not None else (ctx.conversation or history)
    return Outcome(
        status=status,
        summary=summary,
        history=prune_images(close_dangling(items), ctx.screen.keep_images),
        usage=dict(ctx.usage),
    )


def _run_agent(ctx: Context, route: str, instruction: str, history: list) -> AgentResult:
    if route == "cli":
        return CliAgent(ctx).run(instruction, history)
    if route == "planner":
        return planner.run(ctx, instruction, history, lambda r, i, h: _run_agent(ctx, r, i, h))
    return DesktopAgent(ctx, browser_first=route == "browser").run(instruction, history)


def _load_memory(ctx: Context, instruction: str) -> None:
    if ctx.memory is None:
        return
    app = None
    try:
        app = next((w.get("app") or w.get("title") for w in ctx.computer.windows() if w.get("focused")), None)
    except Exception:  # noqa: BLE001 - no window list means no app profile, not a failed task
        pass
    try:
        entries = ctx.memory.relevant(instruction, app, MEMORY_BUDGET_TOKENS) or []
    except Exception as exc:  # noqa: BLE001
        ctx.sink.emit("log", {"level": "warning", "message": f"Memory was not available: {redact(str(exc))}"})
        return
    ctx.memory_text = memory_mod.format_entries(entries)
    ctx.memory_ids = [e["id"] for e in entries if "id" in e]
