"""A scenario's success checks, read off the desktop after the agent says it is done.

The model's "done" is a claim; the checks are what the screen shows. Each check is one of:
- `windowTitle`: a regular expression some visible window's title matches;
- `textInWindow`: text contained in a window title, or in the focused window's text (read by
  select-all and copy, the user's clipboard restored, the selection collapsed again).
"""

from __future__ import annotations

import logging
import re
import time

from agent.computer import Computer
from agent.platform import clipboard
from agent.platform.keys import shortcut

logger = logging.getLogger("deskhand.agent")

# How long the copied text may take to reach the clipboard.
COPY_WAIT_S = 2.0
# How much of the window's text a failed check quotes.
EXCERPT_CHARS = 120


def checks_evaluate(checks: list[dict], computer: Computer) -> list[str]:
    """The checks that failed, each as a sentence; empty when all pass."""
    failures = []
    for check in checks:
        titles = [w.get("title") or "" for w in computer.windows()]
        if "windowTitle" in check:
            pattern = check["windowTitle"]
            try:
                matched = any(re.search(pattern, title) for title in titles)
            except re.error as exc:
                failures.append(f"windowTitle {pattern!r} is not a valid regular expression ({exc})")
                continue
            if not matched:
                failures.append(f"no window title matches {pattern!r} (titles: {titles[:8]})")
        elif "textInWindow" in check:
            text = check["textInWindow"]
            if any(text in title for title in titles):
                continue
            content = focused_window_text(computer)
            if content is None:
                failures.append(f"the text {text!r} is not in the focused window (its text could not be read)")
            elif text not in content:
                failures.append(f"the text {text!r} is not in the focused window (it holds {_excerpt(content)!r})")
    return failures


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """What the window held, short enough for an error message: what was there instead is the
    first thing a person asks."""
    return text if len(text) <= limit else text[:limit] + "…"


def focused_window_text(computer: Computer) -> str | None:
    """The focused window's text through the clipboard, or None when it cannot be read."""
    try:
        # An action first: it waits until the last typing put the user's clipboard back (that runs
        # on a thread), so `previous` is theirs and not the text just typed. Selecting leaves the
        # clipboard alone.
        computer.keypress(shortcut("select_all"))
        previous = clipboard.read_clipboard()
        computer.keypress(shortcut("copy"))
        text = None
        deadline = time.monotonic() + COPY_WAIT_S
        while time.monotonic() < deadline:
            text = clipboard.read_clipboard()
            if text is not None and text != previous:
                break
            time.sleep(0.05)
        # Collapse the selection: the next typing must not replace it.
        computer.keypress(shortcut("document_end"))
        if previous is not None:
            clipboard.write_clipboard(previous)
        return text
    except Exception:  # an unreadable window fails the check, it does not crash the run
        logger.warning("Could not read the focused window's text", exc_info=True)
        return None
