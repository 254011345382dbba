"""Where the browsers the agent can drive (Chrome, Chromium, Edge: they speak the DevTools protocol)
are installed on each OS, most likely first. The editor and browser people use are in `system`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath, PureWindowsPath

from agent.platform.system import OsName, current_os

_LINUX_BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "microsoft-edge",
    "microsoft-edge-stable",
)


def browser_candidates(
    os_name: OsName | None = None,
    env: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> list[str]:
    os_name = os_name or current_os()
    env = os.environ if env is None else env
    if os_name == "windows":
        # Edge ships with Windows; Chrome installs per machine or per user.
        roots = [env.get(v) for v in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")]
        tails = (
            r"Google\Chrome\Application\chrome.exe",
            r"Microsoft\Edge\Application\msedge.exe",
            r"Chromium\Application\chrome.exe",
        )
        return [str(PureWindowsPath(root) / tail) for tail in tails for root in roots if root]
    if os_name == "macos":
        apps = ("Google Chrome", "Chromium", "Microsoft Edge")
        folders = ["/Applications"] + ([f"{env['HOME']}/Applications"] if env.get("HOME") else [])
        return [str(PurePosixPath(folder) / f"{app}.app/Contents/MacOS/{app}") for folder in folders for app in apps]
    found = [which(name) for name in _LINUX_BROWSERS]
    return list(dict.fromkeys(p for p in ["/usr/bin/chromium", *found] if p))
