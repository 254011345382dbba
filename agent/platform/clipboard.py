"""Typing by clipboard paste, leaving the user's clipboard as it was.

pyautogui.write drops non-ASCII text on X11 and turns "<" into ">"; xdotool type loses non-ASCII
characters in some runs. Pasting delivered every string exactly. The helpers are started with
stdout/stderr to DEVNULL in their own session: a lingering xclip that inherited our pipes kept a
parent's pipeline open (measured).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time


def read_clipboard(env: dict | None = None) -> str | None:
    """The clipboard's text, or None when nobody owns it (or it holds no text)."""
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


def write_clipboard(text: str, env: dict | None = None) -> None:
    """Own the clipboard with `text` until someone else takes it (xclip forks into the background)."""
    proc = subprocess.Popen(
        ["xclip", "-selection", "clipboard", "-i"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    proc.communicate(text.encode("utf-8"), timeout=5)


class PasteOwner:
    """Serves `text` on the clipboard from a foreground xclip and counts the paste requests it answers.

    We must not restore the user's clipboard before the target app has fetched our text, and that
    fetch is asynchronous. `xclip -verbose` prints a line per selection request, so we wait until
    requests arrived and then stopped (an app asks for TARGETS, then the text), with a cap.
    """

    def __init__(self, text: str, env: dict | None = None):
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
        self.proc.stdin.write(text.encode("utf-8"))
        self.proc.stdin.close()
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self._ready.wait(5)

    def _read(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            if "Waiting for selection request" in line:
                # The first such line means "ready"; each later one means one request was served.
                if self._ready.is_set():
                    self.requests += 1
                    self._last = time.monotonic()
                self._ready.set()
        self._ready.set()

    def wait_served(self, cap_s: float = 2.0) -> bool:
        """Wait until the paste fetched our text: TARGETS + data (two requests: GTK, Qt, Chromium), or
        one request and a longer silence (apps that ask for the data directly). Closing the owner
        between an app's TARGETS and data requests would lose the paste, hence the margins."""
        start = time.monotonic()
        while time.monotonic() - start < cap_s:
            quiet = time.monotonic() - self._last
            if (self.requests >= 2 and quiet >= 0.02) or (self.requests == 1 and quiet >= 0.15):
                return True
            time.sleep(0.002)
        return self.requests > 0

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        self.proc.stdout.close()


def available() -> bool:
    return shutil.which("xclip") is not None
