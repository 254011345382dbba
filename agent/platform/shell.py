"""The cli agent's shell: bash on Linux, zsh on macOS (its default since 10.15), PowerShell on Windows.

PowerShell gets the command as `-EncodedCommand` (base64 of UTF-16LE): Windows rebuilds a command
line from the argument list, and PowerShell 5.1 strips or splits embedded double quotes there, so a
command passed as text would not always arrive as the model wrote it. `-NoProfile` keeps the user's
profile scripts out, `-NonInteractive` makes a prompt (Read-Host, a confirmation) fail instead of
hanging, and the prelude makes the output UTF-8 and drops progress bars (which would otherwise end up
in the captured output as serialized records).
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from agent.platform.system import OsName, current_os

Dialect = Literal["posix", "powershell"]

POWERSHELL_PRELUDE = (
    "$ProgressPreference = 'SilentlyContinue'; "
    "[Console]::OutputEncoding = [System.Text.Encoding]::UTF8; "
    "$OutputEncoding = [System.Text.Encoding]::UTF8\n"
)


@dataclass(frozen=True)
class Shell:
    name: str  # what the instructions and the tool description call it: "bash", "zsh", "PowerShell"
    executable: str
    dialect: Dialect  # which risk rules read its commands

    def argv(self, command: str) -> list[str]:
        if self.dialect == "powershell":
            encoded = base64.b64encode((POWERSHELL_PRELUDE + command).encode("utf-16-le")).decode("ascii")
            return [self.executable, "-NoLogo", "-NoProfile", "-NonInteractive", "-OutputFormat", "Text"] + [
                "-EncodedCommand",
                encoded,
            ]
        return [self.executable, "-c", command]


def shell_for(os_name: OsName, which: Callable[[str], str | None] = shutil.which) -> Shell:
    """The shell for `os_name`. `which` finds executables (injected by tests)."""
    if os_name == "windows":
        # PowerShell 7 (pwsh) when installed: faster to start, UTF-8 by default; else the built-in 5.1.
        pwsh = which("pwsh")
        return Shell("PowerShell", pwsh or which("powershell") or "powershell.exe", "powershell")
    if os_name == "macos":
        zsh = which("zsh")
        if zsh:
            return Shell("zsh", zsh, "posix")
    bash = which("bash")
    if bash:
        return Shell("bash", bash, "posix")
    return Shell("sh", which("sh") or "/bin/sh", "posix")


def current_shell() -> Shell:
    return shell_for(current_os())
