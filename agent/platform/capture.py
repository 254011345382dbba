"""Screen capture per OS: can this process see the desktop, and how captured pixels map to input.

Captures are in physical pixels; pyautogui moves the mouse in the OS's input units:
- X11: the same pixels (scale 1).
- macOS: points. A Retina display captures at 2× its points: a 1440×900-point screen is a 2880×1800
  capture, and mss reports monitor bounds in points, so the scale is capture width / bounds width.
- Windows: pixels once the process is DPI-aware. `prepare_process()` makes it per-monitor aware
  before pyautogui or mss load (pyautogui would otherwise make it merely "system aware" at import,
  and whichever comes first wins). The scale is then the primary monitor's captured width over the
  width pyautogui reports: 1.0 when both agree, 1.5 on a 150 % display that something left unaware.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from agent.platform.system import OsName, current_os
from agent.screen import Geometry

Monitor = Mapping[str, int]  # mss's monitor dict: left, top, width, height

SCREEN_RECORDING_HELP = (
    "macOS is not letting Deskhand see the screen: allow the app you started Deskhand from "
    "(Terminal, iTerm, your IDE, or Python) under System Settings → Privacy & Security → Screen "
    "Recording, then quit and restart that app."
)
ACCESSIBILITY_HELP = (
    "macOS is not letting Deskhand use the mouse and keyboard: allow the app you started Deskhand "
    "from (Terminal, iTerm, your IDE, or Python) under System Settings → Privacy & Security → "
    "Accessibility, then quit and restart that app."
)


def prepare_process() -> None:
    """Once per process, before capturing or acting: on Windows, per-monitor DPI awareness."""
    if sys.platform == "win32":
        import ctypes

        try:  # Windows 10 1703+: per-monitor v2 (the context handle -4)
            if ctypes.windll.user32.SetProcessDpiAwarenessContext(ctypes.c_void_p(-4)):
                return
        except AttributeError:
            pass
        try:  # Windows 8.1+: per-monitor
            ctypes.windll.shcore.SetProcessDpiAwareness(2)
        except (AttributeError, OSError):
            ctypes.windll.user32.SetProcessDPIAware()


def input_scale(
    os_name: OsName,
    *,
    virtual: Monitor,
    captured_size: tuple[int, int],
    monitors: Sequence[Monitor] = (),
    input_size: tuple[int, int] | None = None,
) -> float:
    """Physical pixels per input unit. `virtual` is mss's monitors[0] (the union of all monitors),
    `captured_size` the size of its capture, `monitors` the others (mss's monitors[1:]),
    `input_size` what pyautogui reports as the primary screen's size (Windows only)."""
    if os_name == "macos":
        return captured_size[0] / virtual["width"] if virtual["width"] else 1.0
    if os_name == "windows" and input_size and input_size[0]:
        # The primary monitor sits at the origin of the virtual screen on Windows.
        primary = next((m for m in monitors if m["left"] == 0 and m["top"] == 0), virtual)
        return primary["width"] / input_size[0]
    return 1.0


def geometry(
    os_name: OsName,
    *,
    virtual: Monitor,
    captured_size: tuple[int, int],
    monitors: Sequence[Monitor] = (),
    input_size: tuple[int, int] | None = None,
) -> Geometry:
    """What a capture of the whole virtual screen covers, in captured pixels, and its input scale."""
    scale = input_scale(os_name, virtual=virtual, captured_size=captured_size, monitors=monitors, input_size=input_size)
    # macOS reports the origin in points; everything in a Geometry is in captured pixels.
    origin_scale = scale if os_name == "macos" else 1.0
    return Geometry(
        left=round(virtual["left"] * origin_scale),
        top=round(virtual["top"] * origin_scale),
        width=captured_size[0],
        height=captured_size[1],
        input_scale=scale,
    )


def mac_permission_problem(*, screen_ok: bool, input_ok: bool) -> str | None:
    """The message naming what macOS refused, or None."""
    problems = ([SCREEN_RECORDING_HELP] if not screen_ok else []) + ([ACCESSIBILITY_HELP] if not input_ok else [])
    return " ".join(problems) or None


def mac_permissions() -> tuple[bool, bool]:
    """(Screen Recording granted, Accessibility granted) for this process. Outside macOS: both True.

    Without Screen Recording macOS does not fail a capture: it returns the wallpaper without any
    window. Without Accessibility it drops synthetic input silently. So both are asked up front.
    """
    if sys.platform == "darwin":
        import ctypes
        import ctypes.util

        screen_ok = input_ok = True
        graphics = ctypes.util.find_library("CoreGraphics")
        services = ctypes.util.find_library("ApplicationServices")
        try:
            if graphics:
                preflight = ctypes.cdll.LoadLibrary(graphics).CGPreflightScreenCaptureAccess
                preflight.restype = ctypes.c_bool
                screen_ok = bool(preflight())
        except (OSError, AttributeError):  # before macOS 10.15 there is no such permission
            pass
        try:
            if services:
                trusted = ctypes.cdll.LoadLibrary(services).AXIsProcessTrusted
                trusted.restype = ctypes.c_bool
                input_ok = bool(trusted())
        except (OSError, AttributeError):
            pass
        return screen_ok, input_ok
    return True, True


def display_problem(
    os_name: OsName | None = None, env: Mapping[str, str] | None = None, *, needs_input: bool = True
) -> str | None:
    """Why this process cannot see (and, with `needs_input`, drive) a desktop, or None. Cheap: no
    connection is opened. The screen stream only watches, so macOS Accessibility is not its concern."""
    os_name = os_name or current_os()
    env = os.environ if env is None else env
    if os_name == "linux" and not env.get("DISPLAY"):
        return (
            "No display: DISPLAY is not set. Start Deskhand inside a desktop session (or set DISPLAY, e.g. DISPLAY=:0)."
        )
    if os_name == "macos":
        screen_ok, input_ok = mac_permissions()
        return mac_permission_problem(screen_ok=screen_ok, input_ok=input_ok or not needs_input)
    return None


def capture_refused(os_name: OsName, error: BaseException) -> str:
    """The message for a capture the OS refused."""
    if os_name == "windows":
        return (
            f"Windows refused the screen capture ({error}). Run Deskhand in the signed-in user's desktop "
            "session (not as a service) and keep that session unlocked."
        )
    if os_name == "macos":
        return f"The screen capture failed ({error}). {SCREEN_RECORDING_HELP}"
    return f"Cannot capture the display {os.environ.get('DISPLAY')!r}: {error}"
