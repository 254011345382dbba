"""Handing queued runs to machines. The database, not the broker, says what is queued.

Each machine's worker consumes a queue of its own (`machine_queue`). The dispatcher gives the
oldest queued run that may go there to each free online machine (a run asked for by name waits
for that machine), one at a time, and sends the task message to that machine's queue. A message
that no worker picked up in time (it was prefetched by a worker that died, or dropped by a
broker restart) is sent again; the worker's conditional pick-up makes a duplicate harmless.

It runs after every change that can free a machine or add work (a run created, an execution
finished, a worker started) and on every sweep of every process, so nothing waits on a lost
message for longer than `REDISPATCH_SECONDS`.
"""

from __future__ import annotations

import hashlib
import logging
import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from runs.execution.claims import stale_before
from runs.models import Machine, Run

logger = logging.getLogger("deskhand.runs")

# A handed-out run that no worker picked up this long after its message was sent gets it again.
REDISPATCH_SECONDS = 10.0


def machine_queue(name: str) -> str:
    """The Celery queue of machine `name`: its name made safe for every broker (and file names)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", name)[:80]
    if safe != name:
        safe += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"deskhand-machine-{safe}"


def machines_online():
    """Machines whose worker heartbeat is fresh (a worker that shuts down clears its heartbeat)."""
    return Machine.objects.filter(last_heartbeat__gte=stale_before())


def runs_dispatch() -> list[str]:
    """Hand queued runs to free online machines and re-send lost messages; the ids sent."""
    _take_back_from_offline()
    sent = []
    if Run.objects.filter(status=Run.Status.QUEUED, machine__isnull=True).exists():
        sent = [run_id for machine in machines_online().order_by("name") if (run_id := _hand_out(machine))]
        _say_what_they_wait_for()
    return sent + _resend_lost()


def runs_release(runs) -> int:
    """Queued runs back to the line: no machine, no pick-up. Their place (creation order) is kept;
    one a person asked to run on a given machine waits for that machine again."""
    return runs.filter(status=Run.Status.QUEUED).update(
        machine=None, claim_token="", worker="", heartbeat_at=None, dispatched_at=None
    )


def _take_back_from_offline() -> None:
    """A queued run handed to a machine whose worker went away goes to the next free machine."""
    offline = Q(machine__last_heartbeat__isnull=True) | Q(machine__last_heartbeat__lt=stale_before())
    taken = runs_release(Run.objects.filter(status=Run.Status.QUEUED, machine__isnull=False).filter(offline))
    if taken:
        logger.warning("Took %d queued run(s) back from machines that went offline", taken)


def waiting_reason(*, machine_name: str, online: bool) -> str:
    """The `statusReason` of a queued run that waits for `machine_name` (or any machine, when empty)."""
    if machine_name:
        if online:
            return f"Waiting for machine {machine_name}, which is busy; it starts when {machine_name} is free."
        return (
            f"Waiting for machine {machine_name}, which is offline (its worker is not running); it starts when "
            f"{machine_name} is back."
        )
    if online:
        return "Waiting for a free machine."
    return "Waiting for a machine: no desktop worker is online. Start `python manage.py worker` on a desktop machine."


def _say_what_they_wait_for() -> None:
    """Keep the `statusReason` of the runs still in the line true: the machine each waits for, and
    whether that machine is offline. Written only where it changed (a conditional UPDATE per machine)."""
    waiting = Run.objects.filter(status=Run.Status.QUEUED, machine__isnull=True)
    online = set(machines_online().values_list("name", flat=True))
    asked_for = set(waiting.exclude(requested_machine="").values_list("requested_machine", flat=True).distinct())
    for name in sorted(asked_for) + [""]:
        reason = waiting_reason(machine_name=name, online=name in online if name else bool(online))
        waiting.filter(requested_machine=name).exclude(status_reason=reason).update(status_reason=reason)


def runs_dispatch_on_commit() -> None:
    """Dispatch once the current transaction commits (the new run is visible to the worker then)."""
    transaction.on_commit(_dispatch_quietly)


def _dispatch_quietly() -> None:
    try:
        runs_dispatch()
    except Exception:  # the sweep of every process dispatches again within seconds
        logger.warning("Dispatching queued runs failed; the next sweep tries again", exc_info=True)


def _hand_out(machine: Machine) -> str | None:
    """The oldest queued run this machine may take, if the machine is free; its id once sent."""
    from runs.tasks import run_execute_task

    now = timezone.now()
    with transaction.atomic():
        # One dispatcher at a time per machine: a row lock on PostgreSQL; SQLite's IMMEDIATE
        # transactions already serialise writers. Two dispatchers can then never both see the
        # machine free and hand it two runs.
        locked = Machine.objects.select_for_update().filter(pk=machine.pk, desktop_holder="").first()
        if locked is None or Run.objects.filter(machine=locked, status__in=Run.ACTIVE).exists():
            return None
        run = (
            Run.objects.filter(status=Run.Status.QUEUED, machine__isnull=True)
            .filter(Q(requested_machine="") | Q(requested_machine=locked.name))
            .order_by("created_at", "pk")
            .first()
        )
        if run is None:
            return None
        if not Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED, machine__isnull=True).update(
            machine=locked, dispatched_at=now, status_reason=""
        ):
            return None
        queue = machine_queue(locked.name)
        transaction.on_commit(lambda: run_execute_task.apply_async(args=[run.pk], queue=queue))
    logger.info("Run %s handed to %s", run.pk, locked.name)
    return run.pk


def _resend_lost() -> list[str]:
    """Runs handed to a machine whose worker never picked them up: their message is sent again."""
    from runs.tasks import run_execute_task

    limit = timezone.now() - timezone.timedelta(seconds=REDISPATCH_SECONDS)
    lost = Run.objects.filter(
        status=Run.Status.QUEUED, machine__isnull=False, claim_token="", dispatched_at__lt=limit
    ).select_related("machine")
    resent = []
    for run in lost:
        if Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED, claim_token="", dispatched_at__lt=limit).update(
            dispatched_at=timezone.now()
        ):
            run_execute_task.apply_async(args=[run.pk], queue=machine_queue(run.machine.name))
            resent.append(run.pk)
    if resent:
        logger.warning("Sent the task of %d run(s) again: no worker had picked them up", len(resent))
    return resent
