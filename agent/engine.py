"""The one entry point runs and live sessions call: `run_task`.

It never raises for model or tool errors: it emits an `error` event that says what happened and what
to do, and returns a `failed` Outcome. Held keys and buttons are released however it ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agent import memory as memory_mod
from agent import planner, router
from agent.browser import BrowserConfig
from agent.checks import checks_evaluate
from agent.cli import CliAgent
from agent.computer import Computer
from agent.context import AgentResult, Context, Item, close_dangling, prune_images
from agent.desktop import DesktopAgent
from agent.errors import EngineError, FailSafeTriggered, Stopped, TimedOut, redact
from agent.memory import MemoryProvider
from agent.recording import ReplayPlan
from agent.screen import ScreenConfig
from agent.secrets import MaskingSink, Secrets
from agent.sink import Sink
from agent.transports import ModelClient

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
    # A scenario's success checks (agent.checks), verified on the desktop when the agent reports
    # success; None for work that has none (a live command).
    checks: list[dict] | None = None
    max_tokens: int | None = None  # input + output tokens of every model call together; None: no limit
    # The same actions on an unchanged screen this many times → the model is told; twice as many →
    # the task ends `no_progress`. 0 turns the watch off.
    no_progress_repeats: int = 3
    secrets: dict = field(default_factory=dict)  # input name -> value, behind placeholders (agent.secrets)
    # A recording to replay instead of asking the model (agent.replay); the model takes over where
    # the screen differs. None: the model does the task.
    replay: ReplayPlan | None = None


@dataclass
class Outcome:
    status: str  # "succeeded" | "failed" | "stopped"
    summary: str
    history: list[Item]
    usage: dict[str, int]
    model_calls: int = 0  # requests to the model (the router's and planner's included)
    replay: dict | None = None  # how a replay went (agent.replay.ReplayReport.as_dict); None without one


def run_task(
    task: Task,
    *,
    sink: Sink,
    client: ModelClient,
    computer: Computer,
    memory: MemoryProvider | None = None,
    protected_paths: Iterable[str] = (),
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
    replayer = None
    try:
        _load_memory(ctx, task.instruction)
        if task.replay is not None:
            from agent.replay import Replayer  # OpenCV is loaded only by the runs that replay

            replayer = Replayer(ctx, task.replay)
            result = replayer.run(task.instruction, history)
        else:
            route, _, browser_first = router.choose(ctx, task.instruction)
            result = _run_agent(ctx, "browser" if browser_first else route, task.instruction, history)
        status, summary = result.status, result.summary
        if status == "failed":
            sink.emit("error", {"code": "task_failed", "message": summary})
        elif status == "succeeded" and task.checks is not None:
            status, summary = _verify(ctx, task.checks, summary)
    except Stopped:
        status, summary = "stopped", "Stopped on request."
    except TimedOut:
        status = "failed"
        summary = f"The task ran out of its time budget ({task.timeout_s:g} s). Raise the timeout or split the task."
        sink.emit("error", {"code": "timed_out", "message": summary})
    except EngineError as exc:
        status, summary = "failed", exc.message
        sink.emit("error", exc.as_event())
    except FailSafeTriggered:
        status = "stopped"
        summary = (
            "Stopped: the mouse was pushed into a screen corner (the emergency stop). Start a new task when ready."
        )
        sink.emit("error", {"code": "fail_safe", "message": summary})
    except Exception as exc:  # noqa: BLE001 - the caller must always get an Outcome
        status = "failed"
        summary = redact(
            f"Internal error in the engine: {type(exc).__name__}: {exc}. This is a bug; the worker log has the details."
        )
        sink.emit("error", {"code": "internal_error", "message": summary})
    finally:
        if ctx.browser is not None:
            try:
                ctx.browser.close()  # lets go of the browser; a managed one stays open for the next task
            except Exception:  # noqa: BLE001 - the outcome matters more than a tidy disconnect
                pass
        try:
            computer.release_all()
        except Exception:  # noqa: BLE001 - nothing left to do about it; the outcome matters more
            pass
        if memory is not None and ctx.memory_ids:
            try:
                memory.mark_used(ctx.memory_ids)
            except Exception:  # noqa: BLE001 - usage counts are bookkeeping, not the task's result
                pass
    items = result.items if result is not None else (ctx.conversation or history)
    return Outcome(
        status=status,
        summary=summary,
        history=prune_images(close_dangling(items), ctx.screen.keep_images),
        usage=dict(ctx.usage),
        model_calls=ctx.turns,
        replay=replayer.report.as_dict() if replayer is not None else None,
    )


def _run_agent(ctx: Context, route: str, instruction: str, history: list) -> AgentResult:
    if route == "cli":
        return CliAgent(ctx).run(instruction, history)
    if route == "planner":
        return planner.run(ctx, instruction, history, lambda r, i, h: _run_agent(ctx, r, i, h))
    return DesktopAgent(ctx, browser_first=route == "browser").run(instruction, history)


def _verify(ctx: Context, checks: list[dict], summary: str) -> tuple[str, str]:
    """The agent says it is done; the success checks say whether the desktop agrees."""
    failures = checks_evaluate(checks, ctx.computer)
    if failures:
        # The window's text is quoted: a secret typed into it must not reach the run's error.
        message = ctx.secrets.mask("A success check failed: " + "; ".join(failures))
        ctx.sink.emit(
            "error",
            {
                "code": "check_failed",
                "message": message + ". The model reported success but the screen does not show it; "
                "look at the last screenshot.",
            },
        )
        return "failed", message
    ctx.sink.emit(
        "log", {"level": "info", "message": "Success checks passed." if checks else "No success checks defined."}
    )
    return "succeeded", summary


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
    except Exception as exc:  # noqa: BLE001 - a task runs without memory rather than fail
        ctx.sink.emit("log", {"level": "warning", "message": f"Memory was not available: {redact(str(exc))}"})
        return
    ctx.memory_text = memory_mod.format_entries(entries)
    ctx.memory_ids = [e["id"] for e in entries if "id" in e]
