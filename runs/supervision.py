"""Keeping executions honest in every process, whatever their kind.

Every process (web and worker) sweeps: executions whose heartbeat went stale become
`interrupted`, work whose message was lost is sent again, queued runs are handed to free
machines. A worker starting up, and `serve` when its embedded worker dies, recover what that
machine's dead worker held at once, without waiting for heartbeats to go stale.

Runs register here themselves; kinds that sit above runs (live sessions) register from their
AppConfig.ready(), since runs cannot import them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection

from runs.execution import process
from runs.execution.claims import heartbeat_interval

logger = logging.getLogger("deskhand.runs")

# How often work is handed out and lost messages looked for (a cheap pass of a few queries).
DISPATCH_SECONDS = 2.0


@dataclass(frozen=True)
class ExecutionKind:
    name: str
    sweep_stale: Callable[[], object]  # interrupt what stopped heartbeating
    recover_machine: Callable[..., object]  # (machine_id=, before=, reason=): a dead worker's executions
    dispatch: Callable[[], object]  # hand out queued work, send lost messages again


kinds: list[ExecutionKind] = []


def kind_register(kind: ExecutionKind) -> None:
    if all(existing.name != kind.name for existing in kinds):
        kinds.append(kind)


def sweep_interval() -> float:
    """How often stale executions are looked for: a dead one is marked within about two stale periods."""
    return settings.SWEEP_SECONDS or max(1.0, min(30.0, settings.HEARTBEAT_STALE_SECONDS / 2))


def dispatch_once() -> None:
    for kind in kinds:
        kind.dispatch()


def sweep_once() -> None:
    for kind in kinds:
        kind.sweep_stale()
    dispatch_once()


def machine_recover(*, machine_id: int, before: datetime, reason: str) -> None:
    """What `machine_id`'s worker held before `before` belongs to a dead process: ended now."""
    for kind in kinds:
        kind.recover_machine(machine_id=machine_id, before=before, reason=reason)
    dispatch_once()


class Sweeper:
    """The background thread every process runs: dispatch every couple of seconds, sweep every
    `sweep_interval()`, and whatever `every_tick` adds (a worker's machine heartbeat)."""

    def __init__(self, *, name: str, every_tick: Callable[[], None] | None = None):
        self.every_tick = every_tick
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()

    def _loop(self) -> None:
        tick = min(DISPATCH_SECONDS, heartbeat_interval(), sweep_interval())
        next_sweep = 0.0
        clock = 0.0
        while not self._done.wait(tick):
            clock += tick
            try:
                if self.every_tick is not None:
                    self.every_tick()
                process.pending_finishes_flush()
                if clock >= next_sweep:
                    sweep_once()
                    next_sweep = clock + sweep_interval()
                else:
                    dispatch_once()
            except Exception:  # keep going: the database may answer again next time
                logger.warning("Sweep failed; trying again in %.0f s", tick, exc_info=True)
            finally:
                connection.close()
