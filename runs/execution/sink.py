"""`DjangoSink`: the engine's Sink over the event log, the owner row and the Confirmation table."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone

from agent.errors import EngineError, Stopped
from core.disk import disk_nearly_full
from events.services import event_append, screenshot_id_new, screenshot_store
from runs.execution import process
from runs.execution.claims import heartbeat_interval
from runs.execution.confirmations import CONFIRMATION_TIMEOUT_SECONDS, confirmation_await
from runs.execution.owner import USAGE_KEYS, ExecutionOwner
from runs.execution.writer import EventWriter
from runs.models import Machine

if TYPE_CHECKING:
    from agent.sink import ConfirmationRequest

# How long a read of the control state (stop, pause) is reused by the tight polling loops (waits,
# shell commands, model calls in flight): a stop is seen within this plus the loop's own 50 ms.
# Before every model call and every action the engine asks afresh.
CONTROL_CACHE_SECONDS = 0.1
# How often a paused execution looks for "resume" or "stop".
PAUSE_POLL_SECONDS = 0.2
# How often the free space of the data dir is looked at.
DISK_CHECK_SECONDS = 5.0


class DjangoSink:
    """Writes events, answers "stop, pause or run?" from the database, blocks on confirmations and
    while paused, keeps the heartbeat, and keeps the owner's `usage` (and route, where it has one)
    current.

    Events, screenshots and the usage bookkeeping go through an `EventWriter`, off the step's
    critical path; `close()` writes what is queued and must come before the owner's final status.
    Called from the engine's thread and from the heartbeat thread; each thread uses its own
    database connection (Django's connections are per thread).
    """

    def __init__(self, owner: ExecutionOwner, *, confirmation_timeout_s: float = CONFIRMATION_TIMEOUT_SECONDS):
        self.owner = owner
        self.confirmation_timeout_s = confirmation_timeout_s
        self.lost = threading.Event()  # set when the row is no longer ours (swept, deleted)
        self.route = ""
        self._usage = dict.fromkeys(USAGE_KEYS, 0)
        self._control = "run"
        self._control_read_at = -1.0
        self._disk_checked_at = -1.0
        self._beat_at = -1e9
        self.writer = EventWriter(owner.pk, inline=connection.in_atomic_block)

    # -- events --
    def emit(self, type: str, data: dict) -> None:
        self.writer.hold()  # the engine is acting: its writes go when it next waits
        self.writer.submit(event_append, owner_id=self.owner.pk, type=type, data=dict(data))
        if type == "usage":
            cumulative = data.get("cumulative") or {}
            for key in USAGE_KEYS:
                self._usage[key] = int(cumulative.get(key, self._usage[key] + int(data.get(key) or 0)))
            self.writer.submit(self._owner_update, fields={"usage": self.owner_usage})
        elif type == "agent_route":
            self.route = str(data.get("route") or "")
            if self.owner.route_field:
                self.writer.submit(self._owner_update, fields={self.owner.route_field: self.route[:20]})

    def _owner_update(self, fields: dict) -> None:
        self.owner.rows().update(**fields)

    def close(self) -> None:
        """Write everything queued (raising a write's failure); later events are written at once."""
        self.writer.close()

    @property
    def usage(self) -> dict:
        """This execution's tokens."""
        return dict(self._usage)

    @property
    def owner_usage(self) -> dict:
        """The owner's tokens: what it had used before, plus this execution's."""
        return self.owner.usage_total(self._usage)

    # -- control: stop and pause --
    def control(self, *, fresh: bool = False) -> str:
        """ "stop", "pause" or "run", as the owner row and this process say now.

        Raises the engine's `EngineError` (code `disk_full`) when the data dir is nearly full, so
        the execution ends while there is still room to record why.
        """
        if self.lost.is_set() or process.shutdown_reason():
            return "stop"
        now = time.monotonic()
        if not fresh and now - self._control_read_at < CONTROL_CACHE_SECONDS:
            return self._control
        self._control_read_at = now
        self._control = self._read_control()
        if self._control == "run" and now - self._disk_checked_at >= DISK_CHECK_SECONDS:
            self._disk_checked_at = now
            problem = disk_nearly_full()
            if problem:
                raise EngineError(problem, code="disk_full")
        return self._control

    def _read_control(self) -> str:
        row = self.owner.rows().values("stop_requested_at", "pause_requested_at").first()
        if row is None:
            self.lost.set()  # swept or deleted: whoever did that decided the outcome
            return "stop"
        if row["stop_requested_at"] is not None:
            return "stop"
        return "pause" if row["pause_requested_at"] is not None else "run"

    def should_stop(self) -> bool:
        return self.control() == "stop"

    def pause_until_resumed(self) -> float:
        """Show `paused` and block until a person resumes; returns the seconds paused.

        Raises `Stopped` when the execution is stopped (or this process shuts down) meanwhile.
        """
        owner = self.owner
        started = time.monotonic()
        if owner.model.objects.filter(pk=owner.pk, status=owner.running_status, **owner.claim).update(
            status=owner.paused_status
        ):
            self.emit(
                "status", {"status": owner.paused_status, "reason": "Paused: the desktop is yours until you resume."}
            )
        next_beat = 0.0
        while (state := self.control(fresh=True)) == "pause":
            if time.monotonic() >= next_beat:
                self.heartbeat()
                next_beat = time.monotonic() + heartbeat_interval()
            time.sleep(PAUSE_POLL_SECONDS)
        if state == "stop":
            raise Stopped()
        paused_s = time.monotonic() - started
        if owner.model.objects.filter(pk=owner.pk, status=owner.paused_status, **owner.claim).update(
            status=owner.running_status
        ):
            self.emit("status", {"status": owner.running_status, "reason": f"Resumed after {paused_s:.0f} s."})
        return paused_s

    # -- heartbeat --
    def heartbeat(self) -> None:
        """Queue a beat (a commit can take milliseconds on PostgreSQL: not on the step's path).

        The engine beats before every model call, so this is also when the queued writes go."""
        self.writer.release()
        # Beats closer than half an interval add a write per step and say nothing new (the
        # heartbeat thread beats while a call blocks).
        if time.monotonic() - self._beat_at < heartbeat_interval() / 2:
            return
        self._beat_at = time.monotonic()
        self.writer.submit(self._beat)

    def _beat(self) -> None:
        now = timezone.now()
        if self.owner.rows().update(heartbeat_at=now) == 0:
            self.lost.set()  # swept or deleted: the next control() says "stop"
            return
        if self.owner.machine_id is not None:
            Machine.objects.filter(pk=self.owner.machine_id, desktop_holder=self.owner.pk).update(
                desktop_heartbeat_at=now, last_heartbeat=now
            )

    # -- confirmations --
    def confirm(self, request: ConfirmationRequest) -> str:
        self.writer.release()  # a person is about to wait: what led here must be on their screen
        return confirmation_await(sink=self, request=request, timeout_s=self.confirmation_timeout_s)

    # -- storage --
    def store_screenshot(self, data: bytes, *, mime: str, width: int, height: int) -> str:
        shot_id = screenshot_id_new()
        self.writer.submit(
            screenshot_store, owner_id=self.owner.pk, shot_id=shot_id, data=data, mime=mime, width=width, height=height
        )
        return shot_id
