"""`EventWriter`: an execution's writes to the database, done in order beside the engine.

Between the model's answer and the next request the engine needs only the desktop: act, settle,
capture, encode. The five to eight event rows, the stored screenshot and the usage bookkeeping of
a step took 10-15 ms on SQLite (a write transaction each) and more on PostgreSQL across a LAN;
they are queued here and written by one thread, in the order they were made, while the engine
goes on.

Even beside the engine the writes cost it: they take the GIL and a core from settling and encoding
(at 1920×1080 on PostgreSQL, a click+type step took 122-128 ms with the writes running at once
and 98 ms with them held back). So while the engine acts the writes wait (`hold()`), and they go
when it waits (`release()`: a model call, a person's answer, a pause), or after `HOLD_MAX_SECONDS`.
A person watching sees a step's events when its request leaves, at most that much later.

What the event log promises is unchanged: every event is written before the execution's final
status (the owner calls `close()` first), and readers only ever see written rows. A crash loses
what was still queued, which nobody had seen. A write that fails (the database went away, the
disk is full) is raised in the engine's thread at its next `submit()`, so the engine stops one
step later at most, as it would have with the write inline.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection

logger = logging.getLogger("deskhand.runs")

# The longest a write waits for the engine to stop acting (a long wait or shell command goes on).
HOLD_MAX_SECONDS = 0.5


class EventWriter:
    """Runs submitted writes in order on a thread of its own.

    `inline` writes at once in the caller's thread: inside a transaction (the tests' `db`
    fixture), where another connection could not see the owner row or would wait for its lock.
    """

    def __init__(self, name: str, *, inline: bool = False):
        self.inline = inline
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], dict] | threading.Event | None] = queue.SimpleQueue()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._name = name
        self._lock = threading.Lock()
        self._go = threading.Event()  # clear while held
        self._go.set()
        self._held_at = 0.0

    def hold(self) -> None:
        """The engine acts: let the queued writes wait (at most HOLD_MAX_SECONDS)."""
        if self._go.is_set():
            self._held_at = time.monotonic()
            self._go.clear()

    def release(self) -> None:
        """The engine waits: write now."""
        self._go.set()

    def submit(self, write: Callable[..., Any], /, **kwargs: Any) -> None:
        """Queue `write(**kwargs)`; first raises the failure of an earlier write, if one failed."""
        self._raise_failure()
        if self.inline:
            write(**kwargs)
            return
        self._started()
        self._queue.put((write, kwargs))

    def flush(self, timeout_s: float = 60.0) -> None:
        """Block until everything submitted so far is written; raises a write's failure."""
        if not self.inline and self._thread is not None:
            self.release()
            done = threading.Event()
            self._queue.put(done)
            if not done.wait(timeout_s):
                raise TimeoutError(f"the event log did not take the queued writes within {timeout_s:.0f} s")
        self._raise_failure()

    def close(self) -> None:
        """Flush, then end the thread (and its database connection); later writes happen at once."""
        try:
            self.flush()
        finally:
            self.inline = True
            with self._lock:
                thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
                thread.join(timeout=10)

    def _started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=f"events-{self._name}", daemon=True)
                self._thread.start()

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def _loop(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                if isinstance(item, threading.Event):
                    item.set()
                    continue
                self._go.wait(max(0.0, self._held_at + HOLD_MAX_SECONDS - time.monotonic()))
                write, kwargs = item
                try:
                    write(**kwargs)
                except Exception as exc:  # noqa: BLE001 - handed to the engine's thread at its next submit()
                    logger.warning("Writing an event of %s failed: %s", self._name, exc)
                    if self._failure is None:
                        self._failure = exc
        finally:
            connection.close()  # this thread's own connection (Django's are per thread)
