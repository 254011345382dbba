"""The computer the desktop agent drives: capture with mss, act with pyautogui, type by paste.

`Computer` is the interface (a fake in tests implements it too); `LocalComputer` is the real one, on
Linux (X11), Windows and macOS alike: what differs by OS comes from `agent.platform`.
Coordinates here are input coordinates on the real screen: mapping from the model's screenshot
happens in `agent.screen.ModelShot.to_screen` before anything reaches this module.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from PIL import Image

from agent.errors import ComputerUnavailable, FailSafeTriggered
from agent.platform import capture, clipboard, screen_changes, window_list
from agent.platform.keys import MODIFIERS, canonical_keys, gui_key, gui_modifiers, map_keys, shortcut
from agent.platform.system import current_os
from agent.screen import Geometry, ScreenChanges

Keys = str | Iterable[str]

_BUTTONS = {"left": "left", "right": "right", "wheel": "middle", "middle": "middle"}
# pyautogui has no mouse buttons 4/5 (back/forward); browsers and file managers take Alt+Left/Right
# (Cmd+[ and Cmd+] on macOS).
_BUTTON_KEYS = {
    "back": {"linux": ["alt", "left"], "windows": ["alt", "left"], "macos": ["cmd", "["]},
    "forward": {"linux": ["alt", "right"], "windows": ["alt", "right"], "macos": ["cmd", "]"]},
}
# A paste nobody asked the text of within this long did not happen: the paste keys are pressed again.
# Not shorter: on a loaded 2-core machine a Mousepad took over 1 s to handle a Ctrl+V, and the
# second press then pasted the text twice. A lost press costs this long once, a double paste a
# wrong document.
PASTE_UNANSWERED_S = 2.0
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
        raw: bytes | bytearray | None = None,
        size: tuple[int, int] | None = None,
    ):
        self.geometry = geometry
        self.raw = raw
        self.size = size or (image.size if image is not None else (geometry.width, geometry.height))
        self._image = image

    @property
    def image(self) -> Image.Image:
        if self._image is None:
            if self.raw is None:
                raise ValueError("a capture needs an image or raw pixels")
            self._image = Image.frombytes("RGB", self.size, self.raw, "raw", "BGRX")
        return self._image


class Computer(Protocol):
    def screenshot(self) -> Capture: ...
    def click(self, x: int, y: int, button: str = "left", keys: Keys = ()) -> None: ...
    def double_click(self, x: int, y: int, keys: Keys = ()) -> None: ...
    def drag(self, path: Sequence[tuple[int, int]], keys: Keys = ()) -> None: ...
    def move(self, x: int, y: int, keys: Keys = ()) -> None: ...
    def scroll(self, x: int, y: int, scroll_x: int, scroll_y: int, keys: Keys = ()) -> None: ...
    def keypress(self, keys: Keys) -> None: ...
    def type(self, text: str) -> None: ...
    def windows(self) -> list[dict[str, Any]]: ...
    def release_all(self) -> None: ...
    def watch_screen(self) -> ScreenChanges | None: ...


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _acting(
    method: Callable[Concatenate[LocalComputer, _P], _R],
) -> Callable[Concatenate[LocalComputer, _P], _R]:
    """pyautogui's corner fail-safe becomes our own FailSafeTriggered: the engine matches that type
    without importing pyautogui (which needs a display to import).

    Every action first waits for the last paste's clipboard restore: a ctrl+v, or a click on a
    "Paste" menu item, means the user's clipboard. Only the screenshot after a batch that ends in
    typing overlaps with the restore."""

    @functools.wraps(method)
    def wrapper(self: LocalComputer, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            self.finish_typing()
            return method(self, *args, **kwargs)
        except Exception as exc:
            if self._gui is not None and isinstance(exc, self._gui.FailSafeException):
                raise FailSafeTriggered() from exc
            raise

    return wrapper


class LocalComputer:
    """The real desktop. One per process (see `get_computer`); safe to call from one thread at a time."""

    def __init__(self, display: str | None = None):
        if display:
            os.environ["DISPLAY"] = display
        self.os = current_os()
        problem = capture.display_problem(self.os)
        if problem:
            raise ComputerUnavailable(problem)
        capture.prepare_process()
        self._local = threading.local()
        self._gui: Any = None  # the pyautogui module once imported
        self._held_keys: list[str] = []
        self._held_buttons: list[str] = []
        # Stops serving the last paste and puts the user's clipboard back; finish_typing() waits for it.
        self._restorer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskhand-clipboard")
        self._restoring: Future[None] | None = None
        # The user's text as we last put it back (X11): while it is still there, no need to read it.
        self._restored: clipboard.ClipboardText | None = None

    # -- plumbing --
    @property
    def gui(self) -> Any:
        """pyautogui, imported on first use: on X11 it connects to DISPLAY at import time."""
        if self._gui is None:
            try:
                import pyautogui
            except Exception as exc:  # KeyError('DISPLAY'), Xlib connection errors...
                raise ComputerUnavailable(capture.capture_refused(self.os, exc)) from exc
            pyautogui.PAUSE = 0  # the default sleeps 100 ms after every call; we settle on pixels instead
            pyautogui.FAILSAFE = True  # a person slamming the mouse into a corner still stops everything
            pyautogui.MINIMUM_DURATION = 0
            self._gui = pyautogui
        return self._gui

    def _mss(self) -> Any:
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
        try:
            shot = grabber.grab(mon)
        except Exception as exc:  # mss.ScreenShotError: a locked session, a refused permission
            raise ComputerUnavailable(capture.capture_refused(self.os, exc)) from exc
        size = (shot.size[0], shot.size[1])
        # `shot.raw` is a fresh bytearray on every OS's backend; `shot.bgra` would copy its 8 MB again
        # (0.8-4 ms at 1920×1080 here) for the same bytes.
        return Capture(self._geometry(grabber.monitors, size), raw=shot.raw, size=size)

    def _geometry(self, monitors: list[dict[str, int]], captured_size: tuple[int, int]) -> Geometry:
        input_size = None
        if self.os == "windows":
            width, height = self.gui.size()
            input_size = (int(width), int(height))
        return capture.geometry(
            self.os, virtual=monitors[0], captured_size=captured_size, monitors=monitors[1:], input_size=input_size
        )

    # -- input --
    def _hold(self, keys: Keys) -> list[str]:
        return self._hold_names(map_keys(keys, self.os) if keys else [])

    def _unhold(self, names: list[str]) -> None:
        for name in reversed(names):
            self.gui.keyUp(name)
            if name in self._held_keys:
                self._held_keys.remove(name)

    def _hold_names(self, names: list[str]) -> list[str]:
        held: list[str] = []
        try:
            for name in names:
                self.gui.keyDown(name)
                self._held_keys.append(name)
                held.append(name)
        except Exception:
            self._unhold(held)
            raise
        return held

    @_acting
    def click(self, x: int, y: int, button: str = "left", keys: Keys = ()) -> None:
        if button in _BUTTON_KEYS:
            self.keypress(_BUTTON_KEYS[button][self.os])
            return
        if button not in _BUTTONS:
            raise ValueError(f"unknown mouse button {button!r}")
        held = self._hold(keys)
        try:
            self.gui.click(x, y, button=_BUTTONS[button])
        finally:
            self._unhold(held)

    @_acting
    def double_click(self, x: int, y: int, keys: Keys = ()) -> None:
        held = self._hold(keys)
        try:
            self.gui.doubleClick(x, y)
        finally:
            self._unhold(held)

    @_acting
    def move(self, x: int, y: int, keys: Keys = ()) -> None:
        held = self._hold(keys)
        try:
            self.gui.moveTo(x, y)
        finally:
            self._unhold(held)

    @_acting
    def drag(self, path: Sequence[tuple[int, int]], keys: Keys = ()) -> None:
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

    @_acting
    def scroll(self, x: int, y: int, scroll_x: int, scroll_y: int, keys: Keys = ()) -> None:
        def clicks(px: int) -> int:  # at least one click when the model asked to scroll at all
            return 0 if not px else (1 if px > 0 else -1) * max(1, round(abs(px) / SCROLL_PX_PER_CLICK))

        held = self._hold(keys)
        try:
            self.gui.moveTo(x, y)
            if scroll_y:
                # The model's positive scroll_y means "down"; the wheel's positive direction is up.
                self.gui.scroll(-clicks(scroll_y))
            if scroll_x:
                self.gui.hscroll(clicks(scroll_x))
        finally:
            self._unhold(held)

    @_acting
    def keypress(self, keys: Keys) -> None:
        canonical = canonical_keys(keys)
        names = [gui_key(k, self.os) for k in canonical]
        if len(names) == 1 and canonical[0] not in MODIFIERS:
            self.gui.press(names[0])
            return
        held = self._hold_names(names)
        self._unhold(held)

    @_acting
    def type(self, text: str) -> None:
        """Deliver `text` exactly, by pasting it, and put the user's clipboard text back.

        Returns once the app has fetched the text: the paste is asynchronous, and a following
        action (ctrl+s in the same batch) must not overtake it. (Deferring this wait to after the
        settle was measured: the editor then saved before the text arrived.) What comes after the
        fetch runs on a thread while the engine settles: waiting out the margin before the owner
        may close, closing it and putting the user's clipboard back (on X11 together ~30 ms of the
        ~45 ms this method took); the next action or release_all() waits for it."""
        self.finish_typing()
        if not text:
            return
        problem = clipboard.problem(self.os)
        if problem:
            raise ComputerUnavailable(problem)
        restored, self._restored = self._restored, None
        if restored is not None and restored.still_ours():
            previous: str | None = restored.text  # saves an xclip run (~7 ms) on every typing after the first
        else:
            previous = clipboard.read_clipboard()
        paste = clipboard.serve(text)
        try:
            terminal = window_list.is_terminal(self._focused_app(), self.os)
            keys = shortcut("paste_in_terminal" if terminal else "paste", self.os)
            self.keypress(keys)
            if not paste.wait_fetched(cap_s=PASTE_UNANSWERED_S):
                # Nobody asked for the text, so nothing was pasted: the keys were lost (measured on X11:
                # about one paste in thirty into a mousepad just shown). Pressing them again is safe.
                self.keypress(keys)
                paste.wait_fetched()
        finally:
            self._restoring = self._restorer.submit(self._restore, paste, previous)

    def _restore(self, paste: clipboard.PendingPaste, previous: str | None) -> None:
        try:
            paste.wait_served()
        finally:
            paste.close()
            # When nobody owned the clipboard before, our owner exiting leaves it empty again.
            if previous is not None:
                self._restored = clipboard.own_clipboard(previous)

    def finish_typing(self) -> None:
        """Wait until the last paste was served, its owner closed and the user's clipboard restored."""
        restoring, self._restoring = self._restoring, None
        if restoring is not None:
            restoring.result()

    def _focused_app(self) -> str:
        if self.os != "linux":
            return ""  # only Linux terminals paste differently: skip the lookup
        try:
            return window_list.focused_app()
        except Exception:  # noqa: BLE001 - unknown focus: the common case (ctrl+v) is the better guess
            return ""

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
        for name in gui_modifiers(self.os):
            self._safe(self.gui.keyUp, name)

    @staticmethod
    def _safe(fn: Callable[..., object], *args: object, **kwargs: object) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - releasing must never mask the real outcome
            pass

    def watch_screen(self) -> ScreenChanges | None:
        """Reports of what is drawn on the screen from now on (X11), for settling; None elsewhere.
        The caller closes them: the same thread's next call restarts them anyway."""
        return screen_changes.watch(os.environ.get("DISPLAY", ""))

    # -- windows --
    def windows(self) -> list[dict[str, Any]]:
        return window_list.list_windows()


_computers: dict[str, LocalComputer] = {}
_lock = threading.Lock()


def get_computer(display: str | None = None) -> LocalComputer:
    """The process's one real computer (per display)."""
    key = display or os.environ.get("DISPLAY", "")
    with _lock:
        if key not in _computers:
            _computers[key] = LocalComputer(display)
        return _computers[key]
