"""The visible windows (pywinctl on every OS) and the focused app, for risk rules, memory and checks."""

from __future__ import annotations

import shutil
import sys
import threading
from typing import Any

from agent.platform.system import OsName, current_os

# Window classes/app names of terminals, where a paste needs ctrl+shift+v on Linux.
_LINUX_TERMINALS = ("terminal", "xterm", "konsole", "alacritty", "kitty", "tilix", "terminator", "urxvt", "wezterm")

_local = threading.local()


def list_windows() -> list[dict[str, Any]]:
    """Visible windows: title, app, x, y, width, height, focused. Empty when they cannot be listed:
    a window list is a hint, never worth failing a step for."""
    if sys.platform.startswith("linux") and shutil.which("xrandr") is None:
        # pywinctl calls sys.exit(1) at import when xrandr is missing: never import it then.
        return []
    try:
        import pywinctl

        result = []
        for win in pywinctl.getAllWindows():
            if not win.isVisible:
                continue
            box = win.box
            try:
                app = win.getAppName()
            except Exception:  # noqa: BLE001 - some windows have no readable process
                app = ""
            result.append(
                {
                    "title": win.title,
                    "app": app,
                    "x": box.left,
                    "y": box.top,
                    "width": box.width,
                    "height": box.height,
                    "focused": bool(win.isActive),
                }
            )
        return result
    except Exception:  # noqa: BLE001 - see the docstring
        return []


def focused_app() -> str:
    """The focused window's class (X11) or app name (Windows, macOS), lower case; "" when unknown."""
    if sys.platform.startswith("linux"):
        return _x11_active_class()
    try:
        import pywinctl

        window = pywinctl.getActiveWindow()
        return str(window.getAppName()).lower() if window is not None else ""
    except Exception:  # noqa: BLE001 - unknown focus is an answer too
        return ""


def is_terminal(app: str, os_name: OsName | None = None) -> bool:
    """Whether `app` (a focused_app() answer) is a terminal. Only Linux is asked: there a paste needs
    the terminal's own shortcut; Windows Terminal, the console and macOS apps take the usual one."""
    return (os_name or current_os()) == "linux" and any(name in app for name in _LINUX_TERMINALS)


def _x11_active_class() -> str:
    # Straight from X (_NET_ACTIVE_WINDOW + WM_CLASS): ~0.5 ms, where a pywinctl window list costs
    # ~10 ms on every typed text. One connection per thread.
    display = getattr(_local, "xdisplay", None)
    if display is None:
        from Xlib import display as xdisplay

        display = _local.xdisplay = xdisplay.Display()
    root = display.screen().root
    prop = root.get_full_property(display.intern_atom("_NET_ACTIVE_WINDOW"), 0)
    if not prop or not prop.value or not prop.value[0]:
        return ""
    window = display.create_resource_object("window", prop.value[0])
    return " ".join(window.get_wm_class() or ()).lower()
