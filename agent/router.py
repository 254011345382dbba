"""The router: desktop, cli or planner, from a small structured model call, with rules as a fallback."""
from __future__ import annotations

import re

from agent import prompts
from agent.context import Context
from agent.errors import EngineError

ROUTES = ("desktop", "cli", "planner")
SCHEMA = {
    "type": "object",
    "properties": {"route": {"type": "string", "enum": list(ROUTES)}, "reason": {"type": "string"}},
    "required": ["route", "reason"],
    "additionalProperties": False,
}

_CLI_WORDS = re.compile(r"\b(shell|terminal|command line|bash|run the command|script|grep|git|pip|ls|cat|disk "
                        r"usage|directory|folder|files?|install|process(es)?|environment variable)\b", re.I)
_GUI_WORDS = re.compile(r"\b(click|window|editor|browser|open the app|screen|button|menu|type into|desktop|"
                        r"mousepad|firefox|chrom(e|ium))\b", re.I)
_STEP_WORDS = re.compile(r"\b(then|after that|afterwards|finally|and also)\b|\d\.\s", re.I)


def by_rules(instruction: str) -> tuple[str, str]:
    gui, cli = bool(_GUI_WORDS.search(instruction)), bool(_CLI_WORDS.search(instruction))
    if _STEP_WORDS.search(instruction) and (gui and cli):
        return "planner", "several steps mixing desktop and shell work"
    if cli and not gui:
        return "cli", "mentions shell or file work and nothing on screen"
    return "desktop", "needs the screen (or nothing points elsewhere)"


def choose(ctx: Context, instruction: str) -> tuple[str, str]:
    requested = ctx.task.route
    if requested in ROUTES:
        route, reason = requested, "chosen by the caller"
    else:
        try:
            answer = ctx.structured(name="route", schema=SCHEMA, instructions=prompts.ROUTER, text=instruction,
                                    agent="router")
            route, reason = answer["route"], str(answer.get("reason") or "")
            if route not in ROUTES:
                raise ValueError(f"unknown route {route!r}")
        except (EngineError, ValueError, KeyError, TypeError) as exc:
            route, why = by_rules(instruction)
            detail = exc.message if isinstance(exc, EngineError) else f"unreadable answer: {exc}"
            reason = f"rules: {why} (the router call failed: {detail})"
    ctx.sink.emit("agent_route", {"route": route, "reason": reason})
    return route, reason
