"""One desktop, one driver: the claim on a machine's desktop, and when a heartbeat is stale.

A claim is one conditional UPDATE (`desktop_holder = ''` → the holder's id), correct on SQLite and
PostgreSQL alike; whoever's UPDATE changed the row holds the desktop.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models.functions import Coalesce
from django.utils import timezone

from runs.models import Machine


def heartbeat_interval() -> float:
    """A heartbeat several times per stale period, so one slow write never makes a live run look dead."""
    return max(0.5, min(10.0, settings.HEARTBEAT_STALE_SECONDS / 6))


def stale_before(seconds: float | None = None) -> datetime:
    """Heartbeats older than this belong to a dead execution."""
    return timezone.now() - timezone.timedelta(seconds=seconds or settings.HEARTBEAT_STALE_SECONDS)


def worker_alive(*, heartbeat_at: datetime | None, machine: Machine | None) -> bool:
    """Whether the worker executing something still lives: the execution's own heartbeat is recent,
    or its machine's worker heartbeats."""
    if heartbeat_at and heartbeat_at >= timezone.now() - timezone.timedelta(seconds=3 * heartbeat_interval()):
        return True
    return bool(machine and machine.last_heartbeat and machine.last_heartbeat >= stale_before())


def desktop_claim(*, machine_id: int, holder: str) -> bool:
    """Take the machine's desktop for `holder` with one conditional UPDATE; True when it is ours.

    Which run may try is the dispatcher's business (runs.dispatch hands a machine one run at a
    time, oldest first); a live command tries directly and gets 409 when the desktop is taken.
    """
    now = timezone.now()
    return (
        Machine.objects.filter(pk=machine_id, desktop_holder="").update(
            desktop_holder=holder, desktop_claimed_at=now, desktop_heartbeat_at=now
        )
        == 1
    )


def desktop_release(*, machine_id: int, holder: str) -> bool:
    """Free the desktop if `holder` still has it (a sweeper may already have freed it)."""
    return (
        Machine.objects.filter(pk=machine_id, desktop_holder=holder).update(
            desktop_holder="", desktop_claimed_at=None, desktop_heartbeat_at=None
        )
        == 1
    )


def desktop_sweep(*, machine_id: int | None = None, claimed_before: datetime | None = None) -> list[str]:
    """Free desktops whose holder stopped heartbeating, or (with `claimed_before`, used by a worker
    starting up: nothing it runs claimed the desktop before it started) every claim older than that.
    Returns the freed holders."""
    machines = Machine.objects.exclude(desktop_holder="")
    if machine_id is not None:
        machines = machines.filter(pk=machine_id)
    if claimed_before is not None:
        machines = machines.annotate(claimed=Coalesce("desktop_claimed_at", "created_at")).filter(
            claimed__lt=claimed_before
        )
    else:
        machines = machines.annotate(beat=Coalesce("desktop_heartbeat_at", "desktop_claimed_at", "created_at")).filter(
            beat__lt=stale_before()
        )
    freed = []
    for machine in machines:
        if desktop_release(machine_id=machine.pk, holder=machine.desktop_holder):
            freed.append(machine.desktop_holder)
    return freed
