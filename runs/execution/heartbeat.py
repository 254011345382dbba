"""The heartbeat of an execution while the engine blocks (a model call, a long shell command)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from django.db import connection

from runs.execution.claims import heartbeat_interval

if TYPE_CHECKING:
    from runs.execution.sink import DjangoSink

logger = logging.getLogger("deskhand.runs")


class Heartbeat:
    """A background thread calling `sink.heartbeat()` every interval until the block ends."""

    def __init__(self, sink: DjangoSink, interval: float | None = None):
        self.sink = sink
        self.interval = interval or heartbeat_interval()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{sink.owner.pk}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        try:
            while not self._done.wait(self.interval):
                try:
                    self.sink.heartbeat()
                except Exception:  # a failed beat is retried next interval
                    logger.warning("Heartbeat for %s failed", self.sink.owner.pk, exc_info=True)
        finally:
            connection.close()  # this thread's own connection (Django's are per thread)
