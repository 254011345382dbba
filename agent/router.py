"""The router: desktop, cli or planner, from a small structured model call, with rules as a fallback."""

from __future__ import annotations

import re

from agent import prompts
from agent.context import Context
from agent.errors import EngineError

ROUTES = ("desktop", "cli", "planner")
SCHEMA = {
    "type": "object",
    "properties": {
        "route": {"type": "string", "enum": list(ROUTES)},
        "reason": {"type": "string"},
        "browser": {"type": "boolean", "description": "desktop only: the task is mostly about web pages"},
    },
    "required": ["route", "reason", "browser"],
    "additionalProperties": False,
}

_CLI_WORDS = re.compile(
    r"\b(shell|terminal|command line|bash|run the command|script|grep|git|pip|ls|cat|disk "
    r"usage|directory|folder|files?|install|process(es)?|environment variable)\b",
    re.I,
)
_GUI_WORDS = re.compile(
    r"\b(click|window|editor|browser|open the app|screen|button|menu|type into|desktop|"
    r"mousepad|firefox|chrom(e|ium))\b",
    re.I,
)
_WEB_WORDS = re.compile(
    r"\b(browser|web ?(site|page)?|site|url|link|search (for|the web|online)|google|look up online|"
    r"chrom(e|ium)|edge|firefox|online|download|log ?in|sign ?in)\b|https?://|www\.|"
    r"\b[\w-]+\.(com|org|net|io|dev|gov|edu)\b",
    re.I,
)
_STEP_WORDS = re.compile(r"\b(then|after that|afterwards|finally|and also)\b|\d\.\s", re.I)


def by_rules(instruction: str) -> tuple[str, str]:
    gui, cli = bool(_GUI_WORDS.search(instruction)), bool(_CLI_WORDS.search(instruction))
    if _STEP_WORDS.search(instruction) and (gui and cli):
        return "planner", "several steps mixing desktop and shell work"
    if cli and not gui:
        return "cli", "mentions shell or file work and nothing on screen"
    return "desktop", "needs the screen (or nothing points elsewhere)"


def is_web_task(instruction: str) -> bool:
    return bool(_WEB_WORDS.search(instruction))


def choose(ctx: Context, instruction: str) -> tuple[str, str, bool]:
    """(route, reason, browser_first). Browser-first is a desktop agent that reaches for the browser tools
    before pixels; it needs a configured browser and a web task."""
    requested = ctx.task.route
    browser = None
    if requested in ROUTES:
        route, reason = requested, "chosen by the caller"
    else:
        try:
            answer = ctx.structured(
                name="route", schema=SCHEMA, instructions=prompts.ROUTER, text=instruction, agent="router"
            )
            route, reason = answer["route"], str(answer.get("reason") or "")
            if isinstance(answer.get("browser"), bool):
                browser = answer["browser"]
            if route not in ROUTES:
                raise ValueError(f"unknown route {route!r}")
        except (EngineError, ValueError, KeyError, TypeError) as exc:
            route, why = by_rules(instruction)
            detail = exc.message if isinstance(exc, EngineError) else f"unreadable answer: {exc}"
            reason = f"rules: {why} (the router call failed: {detail})"
    browser_first = bool(
        ctx.browser is not None
        and route == "desktop"
        and (browser if browser is not None else is_web_task(instruction))
    )
    if browser_first:
        reason += " — browser-first: web pages through the browser tools, the computer tool for the rest"
        ctx.sink.emit("agent_route", {"route": route, "reason": reason, "browser": True})
    else:
        ctx.sink.emit("agent_route", {"route": route, "reason": reason})
    return route, reason, browser_first
