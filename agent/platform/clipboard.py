"""Typing by clipboard paste, leaving the user's clipboard as it was.

pyautogui.write drops non-ASCII text on X11 and turns "<" into ">", and on Windows and macOS it types
key codes of a US layout; pasting delivers every string exactly on all three.

X11 (xclip): the clipboard belongs to a process that serves each paste request. Our own foreground
xclip serves the text and counts requests, so we know when the app has fetched it. The helpers are
started with stdout/stderr to DEVNULL in their own session: a lingering xclip that inherited our
pipes kept a parent's pipeline open (measured).

Windows and macOS (pyperclip): the OS keeps the clipboard's content and does not tell who read it,
so the user's text is put back after a short grace period (`OS_PASTE_GRACE_S`) instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from typing import IO, Any, Protocol

from agent.platform.system import OsName, current_os

# How long a Windows or macOS app gets to fetch a paste before the user's clipboard is put back.
# The app reads it while handling the paste key, normally within a few milliseconds.
OS_PASTE_GRACE_S = 0.25


class PendingPaste(Protocol):
    def wait_fetched(self, cap_s: float = 2.0) -> bool: ...
    def wait_served(self, cap_s: float = 2.0) -> bool: ...
    def close(self) -> None: ...


def problem(os_name: OsName | None = None) -> str | None:
    """Why typing cannot work here, or None."""
    if (os_name or current_os()) == "linux" and shutil.which("xclip") is None:
        return "Typing needs xclip (apt-get install xclip)."
    return None


def read_clipboard(env: dict[str, str] | None = None) -> str | None:
    """The clipboard's text, or None when nobody owns it (or it holds no text)."""
    if current_os() != "linux":
        import pyperclip

        try:
            return pyperclip.paste() or None
        except pyperclip.PyperclipException:
            return None
    try:
        out = subprocess.run(
            ["xclip", "-selection", "clipboard", "-o"],
            capture_output=True,
            timeout=2,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.decode("utf-8", "replace") if out.returncode == 0 else None


def write_clipboard(text: str, env: dict[str, str] | None = None) -> None:
    """Put `text` on the clipboard (on X11: own it until someone else takes it)."""
    own_clipboard(text, env)


def own_clipboard(text: str, env: dict[str, str] | None = None) -> ClipboardText | None:
    """Put `text` on the clipboard; on X11 the returned handle tells whether it is still there.

    X11: a foreground, silent xclip serves it until another program takes the clipboard (it then
    exits); it outlives us like the forking `xclip -i` did, and being our child it can be asked
    whether it still runs. Returns once the X server names it the owner, so an action right after
    (a ctrl+v) finds the text there; `xclip -i` returned when it forked, which says nothing of that."""
    if current_os() != "linux":
        import pyperclip

        pyperclip.copy(text)
        return None
    display = (env or os.environ).get("DISPLAY", "")
    before = clipboard_owner(display)
    proc = subprocess.Popen(
        ["xclip", "-selection", "clipboard", "-i", "-quiet"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    stdin = proc.stdin
    if stdin is None:
        raise RuntimeError("xclip was started without a pipe")
    stdin.write(text.encode("utf-8"))
    stdin.close()
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and proc.poll() is None:
        owner = clipboard_owner(display)
        if owner not in (0, before):
            return ClipboardText(text, proc, owner, display)
        time.sleep(0.001)
    return None


class ClipboardText:
    """Text we put back on the X11 clipboard, and the xclip serving it."""

    def __init__(self, text: str, proc: subprocess.Popen[bytes], window: int, display: str):
        self.text = text
        self.proc = proc
        self.window = window
        self.display = display

    def still_ours(self) -> bool:
        """Nobody took the clipboard since: our xclip runs (it exits when it loses the clipboard, so
        its window id cannot have been reused) and the server still names its window the owner
        (which covers the moment before xclip sees it lost it)."""
        return self.proc.poll() is None and clipboard_owner(self.display) == self.window


_local = threading.local()


def clipboard_owner(display_name: str) -> int:
    """The X window owning the clipboard now, 0 when nobody does. One round trip (well under 1 ms),
    one connection per thread and display."""
    displays: dict[str, Any] = _local.__dict__.setdefault("displays", {})
    display = displays.get(display_name)
    if display is None:
        from Xlib import display as xdisplay

        display = displays[display_name] = xdisplay.Display(display_name or None)
    owner = display.get_selection_owner(display.intern_atom("CLIPBOARD"))
    return int(getattr(owner, "id", owner) or 0)


def serve(text: str) -> PendingPaste:
    """Put `text` on the clipboard for one paste; `wait_served()` after pressing the paste keys."""
    if current_os() == "linux":
        return PasteOwner(text)
    return OsClipboardPaste(text)


class OsClipboardPaste:
    """Windows and macOS: the text sits on the OS clipboard; nothing reports the app's read."""

    def __init__(self, text: str, grace_s: float = OS_PASTE_GRACE_S):
        self.grace_s = grace_s
        self._graced = False
        write_clipboard(text)

    def wait_fetched(self, cap_s: float = 2.0) -> bool:
        """Nothing tells when the app read it: the grace period, once."""
        if not self._graced:
            time.sleep(min(self.grace_s, cap_s))
            self._graced = True
        return True

    def wait_served(self, cap_s: float = 2.0) -> bool:
        return self.wait_fetched(cap_s)

    def close(self) -> None:
        pass


class PasteOwner:
    """Serves `text` on the clipboard from a foreground xclip and counts the paste requests it answers.

    We must not restore the user's clipboard before the target app has fetched our text, and that
    fetch is asynchronous. `xclip -verbose` prints a line per selection request, so we wait until
    requests arrived and then stopped (an app asks for TARGETS, then the text), with a cap.
    """

    def __init__(self, text: str, env: dict[str, str] | None = None):
        self.requests = 0
        self._last = time.monotonic()
        self.proc = subprocess.Popen(
            ["xclip", "-selection", "clipboard", "-i", "-verbose", "-loops", "1000"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        stdin, self._stdout = _pipes(self.proc)
        stdin.write(text.encode("utf-8"))
        stdin.close()
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self._ready.wait(5)
        self.display = (env or os.environ).get("DISPLAY", "")
        self.window = clipboard_owner(self.display)  # our xclip's, unless someone copied this very moment

    def _read(self) -> None:
        for raw in self._stdout:
            line = raw.decode("utf-8", "replace")
            if "Waiting for selection request" in line:
                # The first such line means "ready"; each later one means one request was served.
                if self._ready.is_set():
                    self.requests += 1
                    self._last = time.monotonic()
                self._ready.set()
        self._ready.set()

    def wait_fetched(self, cap_s: float = 2.0) -> bool:
        """Wait until the app has fetched the text, without the margin `wait_served` keeps for closing:
        TARGETS + data (two requests), or one request and a longer silence. Enough to order the
        actions after the paste; the owner must stay up until `wait_served`."""
        return self._wait(cap_s, quiet_after_two_s=0.0)

    def wait_served(self, cap_s: float = 2.0) -> bool:
        """Wait until the paste fetched our text: TARGETS + data (two requests: GTK, Qt, Chromium), or
        one request and a longer silence (apps that ask for the data directly). Closing the owner
        between an app's TARGETS and data requests would lose the paste, hence the margins."""
        return self._wait(cap_s, quiet_after_two_s=0.02)

    def _wait(self, cap_s: float, *, quiet_after_two_s: float) -> bool:
        start = time.monotonic()
        while time.monotonic() - start < cap_s:
            quiet = time.monotonic() - self._last
            if (self.requests >= 2 and quiet >= quiet_after_two_s) or (self.requests == 1 and quiet >= 0.15):
                return True
            time.sleep(0.002)
        return self.requests > 0

    def close(self) -> None:
        """Stop serving; returns once the X server no longer names our window the owner (it learns of
        the exit a moment later), so the next owner can tell its own claim from ours: X reuses a
        closed client's window ids, and the next xclip got the very same id here."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        self._stdout.close()
        deadline = time.monotonic() + 0.5
        while self.window and clipboard_owner(self.display) == self.window and time.monotonic() < deadline:
            time.sleep(0.001)


def _pipes(proc: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    if proc.stdin is None or proc.stdout is None:
        raise RuntimeError("xclip was started without pipes")
    return proc.stdin, proc.stdout
