"""`DjangoSink`: the engine's Sink over the event log, the owner row and the Confirmation table."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from django.utils import timezone

from events.services import event_append, screenshot_store
from runs.execution.confirmations import CONFIRMATION_TIMEOUT_SECONDS, confirmation_await
from runs.execution.owner import USAGE_KEYS, ExecutionOwner
from runs.models import Machine

if TYPE_CHECKING:
    from agent.sink import ConfirmationRequest

# How often the sink re-reads the stop flag: the engine asks before every action and every 50 ms
# inside waits and shell commands; one indexed read per this interval keeps a stop within ~0.3 s
# without a query per poll.
STOP_POLL_SECONDS = 0.25


class DjangoSink:
    """Writes events, answers "should I stop?" from the database, blocks on confirmations, keeps
    the heartbeat, and keeps the owner's `usage` (and route, where it has one) current.

    Called from the engine's thread and from the heartbeat thread; each thread uses its own
    database connection (Django's connections are per thread).
    """

    def __init__(self, owner: ExecutionOwner, *, confirmation_timeout_s: float = CONFIRMATION_TIMEOUT_SECONDS):
        self.owner = owner
        self.confirmation_timeout_s = confirmation_timeout_s
        self.lost = threading.Event()  # set when the row is no longer ours (swept, deleted)
        self.route = ""
        self._usage = dict.fromkeys(USAGE_KEYS, 0)
        self._stop = False
        self._stop_checked_at = 0.0

    # -- events --
    def emit(self, type: str, data: dict) -> None:
        event_append(owner_id=self.owner.pk, type=type, data=data)
        if type == "usage":
            cumulative = data.get("cumulative") or {}
            for key in USAGE_KEYS:
                self._usage[key] = int(cumulative.get(key, self._usage[key] + int(data.get(key) or 0)))
            self.owner.rows().update(usage=self.owner_usage)
        elif type == "agent_route":
            self.route = str(data.get("route") or "")
            if self.owner.route_field:
                self.owner.rows().update(**{self.owner.route_field: self.route[:20]})

    @property
    def usage(self) -> dict:
        """This execution's tokens."""
        return dict(self._usage)

    @property
    def owner_usage(self) -> dict:
        """The owner's tokens: what it had used before, plus this execution's."""
        return self.owner.usage_total(self._usage)

    # -- stop --
    def should_stop(self) -> bool:
        if self._stop or self.lost.is_set():
            return True
        now = time.monotonic()
        if now - self._stop_checked_at < STOP_POLL_SECONDS:
            return False
        self._stop_checked_at = now
        row = self.owner.rows().values("stop_requested_at").first()
        if row is None:
            self.lost.set()  # swept or deleted: whoever did that decided the outcome
            return True
        self._stop = row["stop_requested_at"] is not None
        return self._stop

    # -- heartbeat --
    def heartbeat(self) -> None:
        now = timezone.now()
        if self.owner.rows().update(heartbeat_at=now) == 0:
            self.lost.set()
            return
        if self.owner.machine_id is not None:
            Machine.objects.filter(pk=self.owner.machine_id, desktop_holder=self.owner.pk).update(
                desktop_heartbeat_at=now, last_heartbeat=now
            )

    # -- confirmations --
    def confirm(self, request: ConfirmationRequest) -> str:
        return confirmation_await(sink=self, request=request, timeout_s=self.confirmation_timeout_s)

    # -- storage --
    def store_screenshot(self, data: bytes, *, mime: str, width: int, height: int) -> str:
        return screenshot_store(owner_id=self.owner.pk, data=data, mime=mime, width=width, height=height).id
