"""Where the screen changed, as the display server reports it, so settling can wait instead of poll.

X11: the DAMAGE extension on the root window reports what is drawn on the screen, as it is drawn.
Settling a step used to copy the whole screen out of the server every 4 ms to find out the same: at
1920×1080 each poll cost 2-14 ms of a core that the app was repainting on. Windows and macOS have
no such report here (`watch()` returns None), and settling polls there.

A report says an area was drawn, not that its pixels differ: a redraw with the same pixels is
reported too, which only makes settling wait a little longer, never return early.
"""

from __future__ import annotations

import select
import sys
import threading
import time
from typing import Any

_local = threading.local()
_untrusted: set[str] = set()  # displays whose reports missed a change (see `DamageReports.missed`)


class DamageReports:
    """The areas the X server reports drawn on the whole screen, from `start()` until `close()`.

    One per thread (an X connection is not to be shared), created by `watch()`. The server reports
    the bounding box of what was drawn since the last read, and each read clears it: however long
    nobody reads (a person's pause, a long wait action), a read finds a few reports, not one for
    every rectangle drawn meanwhile.
    """

    def __init__(self, display: Any, display_name: str):
        from Xlib.ext import damage

        self.display_name = display_name
        self._display = display
        self._root = display.screen().root
        self._notify = display.extension_event.DamageNotify
        self._level = damage.DamageReportBoundingBox
        self._damage: int | None = None
        self.broken: BaseException | None = None  # the connection failed: `watch()` makes a new one

    def start(self) -> DamageReports:
        """Report from now on; what was drawn before is dropped (the round trip delivers it first)."""
        self.close()
        self._damage = self._root.damage_create(self._level)
        self._display.sync()
        self._read()
        return self

    def wait(self, timeout_s: float) -> int:
        """The pixels reported drawn since the last read, waiting up to `timeout_s` for a first report.

        A lost connection reports nothing (after the wait, not in a busy loop): settling then grabs
        the screen, which says what is wrong, or polls when the screen is fine."""
        if self.broken is None:
            try:
                drawn = self._read()
                if drawn or timeout_s <= 0:
                    return drawn
                select.select([self._display], [], [], timeout_s)
                return self._read()
            except _lost() as exc:
                self.broken = exc
        time.sleep(max(0.0, timeout_s))
        return 0

    def drawn_now(self) -> int:
        """Like `wait(0)`, and with what the server had drawn up to now but not yet sent (one round trip)."""
        if self.broken is not None:
            return 0
        try:
            self._display.sync()
            return self._read()
        except _lost() as exc:
            self.broken = exc
            return 0

    def _read(self) -> int:
        drawn = 0
        while self._display.pending_events():
            event = self._display.next_event()
            if event.type == self._notify:
                drawn += event.area.width * event.area.height
        if drawn and self._damage is not None:
            # Cleared, and known to be cleared before the caller grabs anything: whatever is drawn from
            # now on is reported (inside the old bounding box too, which would otherwise stay silent).
            self._display.damage_subtract(self._damage)
            self._display.sync()
        return drawn

    def missed(self) -> None:
        """The screen changed and nothing was reported (a compositor drawing past the server, say):
        this display's reports are not used again in this process. A lost connection is not that."""
        if self.broken is None:
            _untrusted.add(self.display_name)

    def close(self) -> None:
        """Stop reporting (reports would otherwise wait in the server for a reader)."""
        damage, self._damage = self._damage, None
        if damage is not None and self.broken is None:
            try:
                self._display.damage_destroy(damage)
                self._display.sync()
                self._read()
            except _lost() as exc:
                self.broken = exc

    def disconnect(self) -> None:
        try:
            self._display.close()
        except _lost():
            pass


def watch(display_name: str) -> DamageReports | None:
    """This thread's screen reports, started; None where the display server has none to give."""
    if not sys.platform.startswith("linux") or display_name in _untrusted:
        return None
    reports = _reports()
    found = reports.get(display_name)
    if found is not None and found.broken is not None:
        release(display_name)
    if display_name not in reports:
        try:
            reports[display_name] = _connect(display_name)
        except _lost():
            return None  # the display is not reachable now: ask again next time
    found = reports[display_name]
    if found is None:
        return None
    try:
        return found.start()
    except _lost() as exc:
        found.broken = exc
        return None


def release(display_name: str) -> None:
    """Close this thread's connection for `display_name` (a thread that is about to end)."""
    found = _reports().pop(display_name, None)
    if found is not None:
        found.close()
        found.disconnect()


def _reports() -> dict[str, DamageReports | None]:
    """This thread's reports per display (None: that display has no DAMAGE)."""
    reports: dict[str, DamageReports | None] = _local.__dict__.setdefault("reports", {})
    return reports


def _connect(display_name: str) -> DamageReports | None:
    """A connection with DAMAGE reports; None for a server without the extension (for good)."""
    from Xlib import display as xdisplay
    from Xlib.error import DisplayError

    try:
        display = xdisplay.Display(display_name or None)
    except DisplayError as exc:
        raise OSError(f"cannot open display {display_name!r}") from exc
    try:
        if not display.has_extension("DAMAGE"):
            display.close()
            return None
        display.damage_query_version()  # the server refuses DAMAGE requests from a client that did not ask
    except _lost():
        display.close()
        raise
    return DamageReports(display, display_name)


def _lost() -> tuple[type[BaseException], ...]:
    """What a connection to a display server that went away raises. A function: an `except` clause
    evaluates it only when something was raised, so Xlib is never imported where there is no X."""
    from Xlib.error import ConnectionClosedError, XError

    return (OSError, ConnectionClosedError, XError)
