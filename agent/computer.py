"""The computer the desktop agent drives: capture with mss, act with pyautogui, type by paste.

`Computer` is the interface (a fake in tests implements it too); `XComputer` is the real one.
Coordinates here are input coordinates on the real screen: mapping from the model's screenshot
happens in `agent.screen.ModelShot.to_screen` before anything reaches this module.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from typing import Protocol

from PIL import Image

from agent import clipboard
from agent.errors import ComputerUnavailable
from agent.keys import MODIFIERS, map_keys
from agent.screen import Geometry

_BUTTONS = {"left": "left", "right": "right", "wheel": "middle", "middle": "middle"}
# pyautogui has no X11 buttons 8/9; browsers and file managers map them to Alt+Left/Right anyway.
_BUTTON_KEYS = {"back": ["alt", "left"], "forward": ["alt", "right"]}
_TERMINALS = ("terminal", "xterm", "konsole", "alacritty", "kitty", "tilix", "terminator", "urxvt", "wezterm")
# One wheel click scrolls about this many pixels; the model's scroll_x/scroll_y are pixel distances.
SCROLL_PX_PER_CLICK = 100


class Capture:
    """One frame of the whole virtual screen, in physical pixels.

    `raw` (the BGRA bytes as captured) is enough to tell whether two frames are identical, which is
    most of what settling asks; the RGB `image` is only built when someone needs it.
    """

    def __init__(
        self,
        geometry: Geometry,
        image: Image.Image | None = None,
        raw: bytes | None = None,
        size: tuple[int, int] | None = None,
    ):
        self.geometry = geometry
        self.raw = raw
        self.size = size or (image.size if image is not None else None)
        self._image = image

    @property
    def image(self) -> Image.Image:
        if self._image is None:
            self._image = Image.frombytes("RGB", self.size, self.raw, "raw", "BGRX")
        return self._image


class Computer(Protocol):
    def screenshot(self) -> Capture: ...
    def click(self, x: int, y: int, button: str = "left", keys=()) -> None: ...
    def double_click(self, x: int, y: int, keys=()) -> None: ...
    def drag(self, path: list[tuple[int, int]], keys=()) -> None: ...
    def move(self, x: int, y: int, keys=()) -> None: ...
    def scroll(self, x: int, y: int, scroll_x: int, scroll_y: int, keys=()) -> None: ...
    def keypress(self, keys: list[str]) -> None: ...
    def type(self, text: str) -> None: ...
    def wait(self, seconds: float) -> None: ...
    def windows(self) -> list[dict]: ...
    def screen_size(self) -> tuple[int, int]: ...
    def release_all(self) -> None: ...


class XComputer:
    """The real desktop. One per process (see `get_computer`); safe to call from one thread at a time."""

    def __init__(self, display: str | None = None):
        if display:
            os.environ["DISPLAY"] = display
        if not os.environ.get("DISPLAY"):
            raise ComputerUnavailable(
                "No display: DISPLAY is not set. Start the worker inside a desktop session "
                "(or set DISPLAY, e.g. DISPLAY=:0)."
            )
        self._local = threading.local()
        self._gui = None
        self._held_keys: list[str] = []
        self._held_buttons: list[str] = []
        self._paste = None  # (clipboard owner, the user's clipboard text) until finish_typing()

    # -- plumbing --
    @property
    def gui(self):
        """pyautogui, imported on first use: it connects to DISPLAY at import time."""
        if self._gui is None:
            try:
                import pyautogui
            except Exception as exc:  # KeyError('DISPLAY'), Xlib connection errors...
                raise ComputerUnavailable(f"Cannot open the display {os.environ.get('DISPLAY')!r}: {exc}") from exc
            pyautogui.PAUSE = 0  # the default sleeps 100 ms after every call; we settle on pixels instead
            pyautogui.FAILSAFE = True  # a person slamming the mouse into a corner still stops everything
            pyautogui.MINIMUM_DURATION = 0
            self._gui = pyautogui
        return self._gui

    def _mss(self):
        # mss handles are not thread-safe and cost ~14 ms to create: one per thread, reused.
        grabber = getattr(self._local, "mss", None)
        if grabber is None:
            import mss

            grabber = self._local.mss = mss.MSS()
        return grabber

    # -- capture --
    def screenshot(self) -> Capture:
        grabber = self._mss()
        mon = grabber.monitors[0]  # the bounding box of every monitor
        shot = grabber.grab(mon)
        return Capture(self._geometry(mon), raw=shot.bgra, size=shot.size)

    def _geometry(self, mon: dict) -> Geometry:
        # pyautogui works in logical points where the OS scales (macOS Retina); X11 is 1:1.
        scale = mon["width"] / self.gui.size()[0] if _is_mac() else 1.0
        return Geometry(left=mon["left"], top=mon["top"], width=mon["width"], height=mon["height"], input_scale=scale)

    def screen_size(self) -> tuple[int, int]:
        mon = self._mss().monitors[0]
        return mon["width"], mon["height"]

    # -- input --
    def _hold(self, keys) -> list[str]:
        names = map_keys(keys) if keys else []
        for name in names:
            self.gui.keyDown(name)
            self._held_keys.append(name)
        return names

    def _unhold(self, names: list[str]) -> None:
        for name in reversed(names):
            self.gui.keyUp(name)
            if name in self._held_keys:
                self._held_keys.remove(name)

    def click(self, x: int, y: int, button: str = "left", keys=()) -> None:
        if button in _BUTTON_KEYS:
            self.keypress(_BUTTON_KEYS[button])
            return
        if button not in _BUTTONS:
            raise ValueError(f"unknown mouse button {button!r}")
        held = self._hold(keys)
        try:
            self.gui.click(x, y, button=_BUTTONS[button])
        finally:
            self._unhold(held)

    def double_click(self, x: int, y: int, keys=()) -> None:
        held = self._hold(keys)
        try:
            self.gui.doubleClick(x, y)
        finally:
            self._unhold(held)

    def move(self, x: int, y: int, keys=()) -> None:
        held = self._hold(keys)
        try:
            self.gui.moveTo(x, y)
        finally:
            self._unhold(held)

    def drag(self, path, keys=()) -> None:
        if len(path) < 2:
            raise ValueError("a drag needs at least two points")
        held = self._hold(keys)
        try:
            self.gui.moveTo(*path[0])
            self.gui.mouseDown(button="left")
            self._held_buttons.append("left")
            for x, y in path[1:]:
                self.gui.moveTo(x, y)
        finally:
            if "left" in self._held_buttons:
                self.gui.mouseUp(button="left")
                self._held_buttons.remove("left")
            self._unhold(held)

    def scroll(self, x: int, y: int, scroll_x: int, scroll_y: int, keys=()) -> None:
        def clicks(px):  # at least one click when the model asked to scroll at all
            return 0 if not px else (1 if px > 0 else -1) * max(1, round(abs(px) / SCROLL_PX_PER_CLICK))

        held = self._hold(keys)
        try:
            self.gui.moveTo(x, y)
            if scroll_y:
                self.gui.scroll(
                    -clicks(scroll_y)
                )  # the model's positive scroll_y means "down"; X11's wheel-up is positive
            if scroll_x:
                self.gui.hscroll(clicks(scroll_x))
        finally:
            self._unhold(held)

    def keypress(self, keys) -> None:
        names = map_keys(keys)
        if len(names) == 1 and names[0] not in MODIFIERS:
            self.gui.press(names[0])
            return
        held = self._hold_names(names)
        self._unhold(held)

    def _hold_names(self, names: list[str]) -> list[str]:
        held = []
        try:
            for name in names:
                self.gui.keyDown(name)
                self._held_keys.append(name)
                held.append(name)
        except Exception:
            self._unhold(held)
            raise
        return held

    def type(self, text: str) -> None:
        """Deliver `text` exactly, by pasting it, and put the user's clipboard text back.

        Returns only once the app has fetched the text: the paste is asynchronous, and a following
        action (ctrl+s in the same batch) must not overtake it. (Deferring this wait to after the
        settle was measured: the editor then saved before the text arrived.)"""
        self.finish_typing()
        if not text:
            return
        if not clipboard.available():
            raise ComputerUnavailable("Typing needs xclip (apt-get install xclip).")
        previous = clipboard.read_clipboard()
        owner = clipboard.PasteOwner(text)
        self._paste = (owner, previous)
        self.keypress(["ctrl", "shift", "v"] if self._focused_is_terminal() else ["ctrl", "v"])
        self.finish_typing()

    def finish_typing(self) -> None:
        """Wait for the pending paste to be fetched, stop serving it, restore the user's clipboard."""
        pending, self._paste = self._paste, None
        if pending is None:
            return
        owner, previous = pending
        try:
            owner.wait_served()
        finally:
            owner.close()
            # When nobody owned the clipboard before, our owner exiting leaves it empty again.
            if previous is not None:
                clipboard.write_clipboard(previous)

    def _focused_is_terminal(self) -> bool:
        """Terminals paste with ctrl+shift+v (ctrl+v is a control character there)."""
        try:
            name = self._active_window_class()
        except Exception:  # noqa: BLE001 - unknown focus: the common case (ctrl+v) is the better guess
            return False
        return any(t in name for t in _TERMINALS)

    def _active_window_class(self) -> str:
        # Straight from X (_NET_ACTIVE_WINDOW + WM_CLASS): ~0.5 ms, where a pywinctl window list costs
        # ~10 ms on every typed text.
        if _is_mac():
            return ""
        display = getattr(self._local, "xdisplay", None)
        if display is None:
            from Xlib import display as xdisplay

            display = self._local.xdisplay = xdisplay.Display()
        root = display.screen().root
        prop = root.get_full_property(display.intern_atom("_NET_ACTIVE_WINDOW"), 0)
        if not prop or not prop.value or not prop.value[0]:
            return ""
        window = display.create_resource_object("window", prop.value[0])
        return " ".join(window.get_wm_class() or ()).lower()

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def release_all(self) -> None:
        """Release whatever an interrupted action left pressed, and every modifier to be safe."""
        self._safe(self.finish_typing)
        if self._gui is None:
            return
        for button in list(self._held_buttons):
            self._safe(self.gui.mouseUp, button=button)
        self._held_buttons.clear()
        for name in list(dict.fromkeys(reversed(self._held_keys))):
            self._safe(self.gui.keyUp, name)
        self._held_keys.clear()
        for name in ("shift", "ctrl", "alt", "win"):
            self._safe(self.gui.keyUp, name)

    @staticmethod
    def _safe(fn, *args, **kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - releasing must never mask the real outcome
            pass

    # -- windows --
    def windows(self) -> list[dict]:
        if shutil.which("xrandr") is None and not _is_mac():
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
        except Exception:  # noqa: BLE001 - a window list is a hint, never worth failing a step for
            return []


def _is_mac() -> bool:
    import sys

    return sys.platform == "darwin"


_computers: dict[str, XComputer] = {}
_lock = threading.Lock()


def get_computer(display: str | None = None) -> XComputer:
    """The process's one real computer (per display)."""
    key = display or os.environ.get("DISPLAY", "")
    with _lock:
        if key not in _computers:
            _computers[key] = XComputer(display)
        return _computers[key]
