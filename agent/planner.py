"""The planner: split an instruction into steps, run each through the desktop or cli agent, stop at a failure."""

from __future__ import annotations

from collections.abc import Callable

from agent import prompts
from agent.context import AgentResult, Context, Item, user_message
from agent.errors import BadModelOutput, EngineError

SCHEMA = {
    "type": "object",
    "properties": {
        "steps": {
            "type": "array",
            "minItems": 1,
            "maxItems": 8,
            "items": {
                "type": "object",
                "properties": {
                    "instruction": {"type": "string"},
                    "agent": {"type": "string", "enum": ["desktop", "cli", "browser"]},
                },
                "required": ["instruction", "agent"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["steps"],
    "additionalProperties": False,
}


def plan(ctx: Context, instruction: str) -> list[dict]:
    try:
        steps = ctx.structured(
            name="plan", schema=SCHEMA, instructions=prompts.PLANNER, text=instruction, agent="planner"
        )["steps"]
        agents = ("desktop", "cli", "browser") if ctx.browser is not None else ("desktop", "cli")
        steps = [
            {"instruction": str(s["instruction"]), "agent": s["agent"] if s["agent"] in agents else "desktop"}
            for s in steps
        ][:8]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadModelOutput(
            f"The planner's answer was not a readable plan ({exc}). Try again, or choose the "
            "desktop or cli route directly."
        ) from None
    if not steps:
        raise BadModelOutput("The planner returned no steps. Rephrase the instruction or choose a route directly.")
    return steps


def run(
    ctx: Context, instruction: str, history: list[Item], run_agent: Callable[[str, str, list[Item]], AgentResult]
) -> AgentResult:
    """`run_agent(route, instruction, history) -> AgentResult` runs one step."""
    steps = plan(ctx, instruction)
    listing = "\n".join(f"{n}. [{s['agent']}] {s['instruction']}" for n, s in enumerate(steps, 1))
    ctx.sink.emit("message", {"role": "assistant", "kind": "plan", "text": f"Plan:\n{listing}", "steps": steps})
    done: list[str] = []
    for n, step in enumerate(steps, 1):
        ctx.check_stopped()  # a pause is honoured at the step's first model call
        ctx.sink.emit(
            "message",
            {
                "role": "assistant",
                "kind": "plan_step",
                "step": n,
                "of": len(steps),
                "agent": step["agent"],
                "text": f"Step {n}/{len(steps)}: {step['instruction']}",
            },
        )
        context = (
            f"Overall task: {instruction}\n"
            + ("Already done:\n" + "\n".join(done) + "\n" if done else "")
            + f"Now do only this step: {step['instruction']}"
        )
        try:
            result = run_agent(step["agent"], context, [])
        except EngineError as exc:  # a step's model or transport failure is that step's failure
            ctx.sink.emit("error", exc.as_event())
            result = AgentResult("failed", exc.message, [])
        if result.status != "succeeded":
            report = (
                f"Step {n} of {len(steps)} failed ({step['agent']}: {step['instruction']}): {result.summary}"
                + ("\nDone before it:\n" + "\n".join(done) if done else "")
                + (f"\nNot run: steps {n + 1}-{len(steps)}." if n < len(steps) else "")
            )
            return AgentResult("failed", report, _summary_history(history, instruction, report))
        done.append(f"{n}. {step['instruction']} → {result.summary}")
    summary = "All steps done:\n" + "\n".join(done)
    return AgentResult("succeeded", summary, _summary_history(history, instruction, summary))


def _summary_history(history: list[dict], instruction: str, summary: str) -> list[dict]:
    # Steps run in conversations of their own; a follow-up needs the gist, not every screenshot.
    return list(history) + [
        user_message(instruction),
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": summary}]},
    ]
