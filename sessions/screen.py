"""The near-live screen: one capture thread per process and display, shared by every viewer.

The thread grabs with one long-lived mss handle, skips a frame whose raw pixels did not change (a
64-bit hash of the buffer, ~0.2 ms), and otherwise makes one JPEG, one base64 string and one SSE
message that every viewer sends as is. On X11 it grabs when the server reports drawing rather than
on a clock, so a change reaches viewers in about 16 ms instead of up to a frame interval later.
Viewers only ever read the *latest* frame: one that falls behind skips to the newest instead of
queueing a backlog. The thread ends when the last viewer leaves, so an unwatched server captures
nothing.

Measured on this kind of box (research notes §6–§8): mss + frombytes(BGRX) + reduce(2) + JPEG +
base64 of a 1920×1080 screen is ~7 ms with Pillow's block cache on, ~20 ms without; 1280 px wide
with a resize is ~20 ms. Hence reduce() by an integer factor rather than a resample.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import math
import os
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from PIL import Image

from agent.platform import capture, screen_changes
from events.streams import sse_message

logger = logging.getLogger("deskhand.sessions")

# Freed image buffers are kept for reuse: each frame allocates ~25 MB, and handing it back to the OS
# every time (Pillow's default) made the loop 2-3x slower, most of it in the kernel.
Image.core.set_blocks_max(32)

JPEG_QUALITY = 70
DEFAULT_FPS = 8.0
# On a still screen with change reports, the capture still looks this often (see FrameSource._loop).
IDLE_CHECK_S = 1.0
DEFAULT_MAX_WIDTH = 1280

try:
    from xxhash import xxh3_64_intdigest as _digest
except ImportError:  # pragma: no cover - xxhash is in requirements; equality is the (slower) fallback

    def _digest(data) -> bytes:
        return bytes(data)


def stream_fps() -> float:
    return max(0.5, min(30.0, float(getattr(settings, "SCREEN_STREAM_FPS", DEFAULT_FPS) or DEFAULT_FPS)))


def stream_max_width() -> int:
    return max(160, int(getattr(settings, "SCREEN_STREAM_MAX_WIDTH", DEFAULT_MAX_WIDTH) or DEFAULT_MAX_WIDTH))


@dataclass(frozen=True)
class Frame:
    seq: int
    timestamp: int  # ms since the epoch, when it was captured
    width: int
    height: int
    message: str  # the whole SSE message, encoded once for every viewer


class Viewer:
    """One SSE reader, woken (on its own event loop) when a new frame or an error is published."""

    def __init__(self, source: FrameSource):
        self.source = source
        self.loop = asyncio.get_running_loop()
        self.flag = asyncio.Event()

    def wake(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.flag.set)
        except RuntimeError:  # its loop is closed: the viewer is gone
            pass

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.flag.wait(), timeout)
        except TimeoutError:
            pass

    def close(self) -> None:
        self.source.unsubscribe(self)


class FrameSource:
    def __init__(self, display: str):
        self.display = display
        self.latest: Frame | None = None
        self.error: str | None = None
        self.captures = 0  # grabs made (changed or not), for tests and measurements
        self.encoded = 0  # frames encoded and published
        self._viewers: set[Viewer] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._seq = 0

    @property
    def running(self) -> bool:
        with self._lock:
            return self._thread is not None

    def subscribe(self) -> Viewer:
        viewer = Viewer(self)
        with self._lock:
            self._viewers.add(viewer)
            if self._thread is None:
                self.error = None
                self.latest = None  # an old frame may be minutes stale; the first grab comes at once
                self._thread = threading.Thread(target=self._run, name=f"screen-stream{self.display}", daemon=True)
                self._thread.start()
        return viewer

    def unsubscribe(self, viewer: Viewer) -> None:
        with self._lock:
            self._viewers.discard(viewer)

    def _publish(self) -> None:
        with self._lock:
            viewers = list(self._viewers)
        for viewer in viewers:
            viewer.wake()

    def _run(self) -> None:
        try:
            import mss

            with mss.MSS(display=self.display or None) as grabber:
                self._loop(grabber)
        except Exception as exc:
            logger.warning("Screen stream capture failed on display %r", self.display, exc_info=True)
            with self._lock:
                self.error = f"Cannot capture the screen of display {self.display!r}: {exc}"
                self._thread = None
            self._publish()

    def _loop(self, grabber) -> None:
        """Grab, and publish what changed, at most `stream_fps()` times a second.

        Where the display server reports what it draws (X11), a still screen is not grabbed at all:
        the next grab waits for a report, so a change goes out as soon as the frame rate allows
        instead of at the next tick. Still, every `IDLE_CHECK_S` a grab checks on the reports
        (a change they missed means polling from then on) and on the viewers."""
        interval = 1.0 / stream_fps()
        max_width = stream_max_width()
        monitor = grabber.monitors[0]  # the whole virtual screen, every monitor
        reports = screen_changes.watch(self.display)
        last_digest = None
        drawn = True  # the first grab is always wanted
        due = time.monotonic()  # when the next grab may come
        try:
            while True:
                with self._lock:
                    if not self._viewers:
                        # Decided under the lock that subscribe() takes: a viewer arriving now starts a new thread.
                        self._thread = None
                        return
                grabbed_at = time.monotonic()
                shot = grabber.grab(monitor)
                self.captures += 1
                digest = _digest(shot.bgra)
                late = False
                if digest != last_digest:
                    last_digest = digest
                    self._seq += 1
                    self.latest = encode_frame(shot, seq=self._seq, max_width=max_width)
                    self.encoded += 1
                    self._publish()
                    if reports is not None and not drawn:
                        # A change between the last wait and the grab has its report on the way (it
                        # may cover drawing after the grab too: grab again). None at all: the reports
                        # miss what is drawn, so poll from now on.
                        late = bool(reports.drawn_now())
                        if not late:
                            reports.missed()
                            reports.close()
                            reports = None
                # One grab per interval: the beat holds through a late wake-up (sleeping on a busy box
                # overshoots by a millisecond or two), and starts again from a grab that came late
                # because the screen was still or the box fell behind, without a burst to catch up.
                due = max(due + interval, grabbed_at + interval * 0.75)
                if reports is not None:
                    drawn = late or bool(reports.wait(IDLE_CHECK_S))
                time.sleep(max(0.0, due - time.monotonic()))
        finally:
            screen_changes.release(self.display)  # this thread's connection ends with it


def encode_frame(shot, *, seq: int, max_width: int) -> Frame:
    image = Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")
    factor = math.ceil(image.width / max_width)
    if factor > 1:
        # An integer box reduction: ~3x cheaper than a resample and sharper text than BILINEAR.
        image = image.reduce(factor)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    timestamp = int(time.time() * 1000)
    payload = {
        "timestamp": timestamp,
        "width": image.width,
        "height": image.height,
        "image": base64.b64encode(buffer.getvalue()).decode("ascii"),
    }
    return Frame(
        seq=seq,
        timestamp=timestamp,
        width=image.width,
        height=image.height,
        message=sse_message(event="frame", data=payload),
    )


_sources: dict[str, FrameSource] = {}
_sources_lock = threading.Lock()


def frame_source(display: str | None = None) -> FrameSource:
    """This process's one capturer for `display` (default: $DISPLAY)."""
    key = display if display is not None else os.environ.get("DISPLAY", "")
    with _sources_lock:
        if key not in _sources:
            _sources[key] = FrameSource(key)
        return _sources[key]


def display_problem(display: str | None = None) -> str | None:
    """Why this process cannot stream the screen, or None. Opens the display once (~15 ms)."""
    key = display if display is not None else os.environ.get("DISPLAY", "")
    problem = capture.display_problem(env={**os.environ, "DISPLAY": key}, needs_input=False)
    if problem:
        return problem
    try:
        import mss

        with mss.MSS(display=key or None) as grabber:
            grabber.monitors[0]
    except Exception as exc:  # noqa: BLE001 - any failure means this display cannot be captured
        return f"Cannot open the display {key!r}: {exc}"
    return None
