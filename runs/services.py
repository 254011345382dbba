"""Writes and state changes of runs and machines. Every status change is a conditional UPDATE
(claimed, not checked-then-written) followed by a `status` event.
"""

from __future__ import annotations

import logging
import platform
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.errors import Conflict, InvalidInput, NotFound
from core.redact import redact
from events.models import Event
from events.services import event_append
from runs.execution.claims import desktop_claim, desktop_release, desktop_sweep, heartbeat_interval, stale_before
from runs.execution.confirmations import confirmation_resolve, confirmations_expire
from runs.execution.invoke import engine_invoke
from runs.execution.owner import ExecutionOwner
from runs.models import Confirmation, Machine, Run
from scenarios.catalog import Scenario, scenario_get

logger = logging.getLogger("deskhand.runs")

# How often a run waiting for the desktop looks again (and how fast it notices a stop).
DESKTOP_POLL_SECONDS = 0.25

INTERRUPTED_REASON = (
    "The worker executing this run stopped sending heartbeats (it was killed, crashed, or the machine "
    "restarted). Nothing was re-run automatically; retry the run if you still want it."
)
INTERRUPTED_AT_START_REASON = (
    "The worker executing this run was restarted before the run finished (it was killed or crashed). "
    "Nothing was re-run automatically; retry the run if you still want it."
)


def _status_event(run_id: str, status: str, reason: str = "") -> None:
    event_append(owner_id=run_id, type="status", data={"status": status, **({"reason": reason} if reason else {})})


# --- Creating, stopping, retrying ---------------------------------------------------------------


def run_create(*, scenario_id: str, auth_provider: str, model: str | None = None, input: dict | None = None) -> Run:
    """A `queued` run of a catalog scenario, enqueued once the transaction commits."""
    scenario = scenario_get(scenario_id=scenario_id)
    if scenario is None:
        raise InvalidInput("scenarioId", f"no scenario {scenario_id!r}; GET /api/scenarios lists them")
    values = input or {}
    problems = scenario.validate_input(values)
    if problems:
        path, message = problems[0]
        raise InvalidInput(
            "input" + (f".{path}" if path else ""),
            message,
            details={"errors": [{"field": "input" + (f".{p}" if p else ""), "message": m} for p, m in problems]},
        )
    return _enqueue(
        scenario=scenario,
        auth_provider=auth_provider,
        model=model or settings.DEFAULT_MODEL,
        values=scenario.with_defaults(values),
    )


def _enqueue(*, scenario: Scenario, auth_provider: str, model: str, values: dict, retry_of: Run | None = None) -> Run:
    from runs.tasks import run_execute_task

    with transaction.atomic():
        run = Run.objects.create(
            scenario_id=scenario.id,
            scenario=scenario.as_dict(),
            title=scenario.title,
            auth_provider=auth_provider,
            model=model,
            input=values,
            instruction=scenario.render_instruction(values),
            retry_of=retry_of,
        )
        _status_event(run.id, Run.Status.QUEUED, f"Retry of {retry_of.id}." if retry_of else "")
        run_execute_task.delay_on_commit(run.id)
    return run


def run_retry(*, run_id: str) -> Run:
    """A new run with the original's scenario (as it was then), provider, model and input."""
    original = _get(run_id)
    if original.status not in Run.TERMINAL:
        raise Conflict(
            f"Run {run_id} is still {original.status}; stop it or wait for it to finish before retrying.",
            code="run_active",
            details={"status": original.status},
        )
    scenario = (
        Scenario.from_dict(original.scenario) if original.scenario else scenario_get(scenario_id=original.scenario_id)
    )
    if scenario is None:
        raise Conflict(f"The scenario {original.scenario_id!r} of run {run_id} no longer exists.", code="scenario_gone")
    run = _enqueue(
        scenario=scenario,
        auth_provider=original.auth_provider,
        model=original.model,
        values=original.input,
        retry_of=original,
    )
    event_append(
        owner_id=original.id, type="log", data={"level": "info", "message": f"Retried as {run.id}.", "retry": run.id}
    )
    return run


def run_stop(*, run_id: str) -> Run:
    """Stop a run: a queued one at once, a running one at its next check (well under 2 s)."""
    run = _get(run_id)
    now = timezone.now()
    reason = "Stopped before it started, on request."
    with transaction.atomic():  # the status and its event together, as in _finish
        stopped = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).update(
            status=Run.Status.STOPPED, stop_requested_at=now, finished_at=now, status_reason=reason
        )
        if stopped:
            _status_event(run_id, Run.Status.STOPPED, reason)
    if stopped:
        # The worker task that may hold it (waiting for the desktop) sees the status and exits.
        return _get(run_id)
    active = (Run.Status.RUNNING, Run.Status.WAITING_CONFIRMATION)
    if Run.objects.filter(pk=run_id, status__in=active, stop_requested_at__isnull=True).update(stop_requested_at=now):
        event_append(owner_id=run_id, type="log", data={"level": "info", "message": "Stop requested."})
        # A pending confirmation must not be answered after a stop: expire it now.
        confirmations_expire(owner_id=run_id)
        return _get(run_id)
    run.refresh_from_db()
    if run.status in active:
        return run  # already asked: stopping twice is the same request
    raise Conflict(
        f"Run {run_id} has already finished ({run.status}); there is nothing to stop.",
        code="run_finished",
        details={"status": run.status},
    )


def run_confirm(*, run_id: str, choice: str, fingerprint: str | None = None) -> Confirmation:
    run = _get(run_id)
    if run.status != Run.Status.WAITING_CONFIRMATION:
        raise Conflict(
            f"Run {run_id} is not waiting for a confirmation (it is {run.status}).", code="no_pending_confirmation"
        )
    answered = confirmation_resolve(owner_id=run_id, choice=choice, fingerprint=fingerprint)
    if answered is None:
        raise Conflict(
            "No pending confirmation matches (it was answered, expired, or is for another action).",
            code="no_pending_confirmation",
        )
    return answered


def _get(run_id: str) -> Run:
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"No run {run_id}.")
    return run


# --- Machines ------------------------------------------------------------------------------------


def machine_register(*, name: str | None = None) -> Machine:
    """This machine's row (created on first use) with fresh facts and heartbeat."""
    from runs.selectors import display_facts

    name = name or settings.MACHINE_NAME
    facts = display_facts()
    screen = facts.get("screen") or {}
    machine, _ = Machine.objects.get_or_create(name=name)
    Machine.objects.filter(pk=machine.pk).update(
        platform=f"{platform.system()} {platform.release()}"[:100],
        display_reachable=facts["displayReachable"],
        screen_width=screen.get("width"),
        screen_height=screen.get("height"),
        last_heartbeat=timezone.now(),
    )
    machine.refresh_from_db()
    return machine


def machine_heartbeat(*, machine_id: int) -> None:
    Machine.objects.filter(pk=machine_id).update(last_heartbeat=timezone.now())


# --- Executing -----------------------------------------------------------------------------------


def run_execute(*, run_id: str, worker: str = "") -> str | None:
    """The Celery task's body: pick the run up, wait for the desktop in order, run the engine,
    record the outcome. Returns the final status, or None when this task had nothing to do.

    A redelivered or duplicated message finds the run already picked up (or finished) and does
    nothing: the pick-up is one conditional UPDATE.
    """
    token = uuid.uuid4().hex
    machine = _local_machine()
    now = timezone.now()
    picked = (
        Run.objects.filter(pk=run_id, status=Run.Status.QUEUED)
        .filter(
            # A run whose previous holder died before it started may be picked up again.
            Q(claim_token="") | Q(heartbeat_at__lt=stale_before())
        )
        .update(claim_token=token, machine=machine, worker=worker[:200], heartbeat_at=now)
    )
    if not picked:
        logger.info("Run %s: nothing to do (already picked up, started or finished)", run_id)
        return None
    if not _wait_for_desktop(run_id, token, machine):
        return None
    try:
        return _execute_claimed(run_id, token, machine)
    finally:
        desktop_release(machine_id=machine.pk, holder=run_id)


def _local_machine() -> Machine:
    machine = Machine.objects.filter(name=settings.MACHINE_NAME).first()
    return machine or machine_register()


def _wait_for_desktop(run_id: str, token: str, machine: Machine) -> bool:
    """Block until this run holds the desktop and is `running`; False if it was stopped meanwhile."""
    run = Run.objects.get(pk=run_id)
    next_beat = 0.0
    while True:
        with transaction.atomic():
            if desktop_claim(machine_id=machine.pk, holder=run_id, queued_before=run):
                now = timezone.now()
                started = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED, claim_token=token).update(
                    status=Run.Status.RUNNING, started_at=now, heartbeat_at=now
                )
                if started:
                    _status_event(run_id, Run.Status.RUNNING)
                    return True
                # Stopped (or swept) between our checks: give the desktop back in the same transaction.
                desktop_release(machine_id=machine.pk, holder=run_id)
                return False
        if time.monotonic() >= next_beat:
            # A waiting run heartbeats too: the sweeper can tell a live queue from an orphan.
            if not Run.objects.filter(pk=run_id, status=Run.Status.QUEUED, claim_token=token).update(
                heartbeat_at=timezone.now()
            ):
                return False
            next_beat = time.monotonic() + heartbeat_interval()
        elif not Run.objects.filter(pk=run_id, status=Run.Status.QUEUED, claim_token=token).exists():
            return False
        time.sleep(DESKTOP_POLL_SECONDS)


def _execute_claimed(run_id: str, token: str, machine: Machine) -> str | None:
    from agent.engine import Task

    run = Run.objects.get(pk=run_id)
    scenario = Scenario.from_dict(run.scenario) if run.scenario else scenario_get(scenario_id=run.scenario_id)
    if scenario is None:
        error = f"The scenario {run.scenario_id!r} no longer exists."
        event_append(owner_id=run_id, type="error", data={"code": "scenario_missing", "message": error})
        return _finish(run_id, token, status=Run.Status.FAILED, summary="", error=error, reason=error, usage={})
    owner = ExecutionOwner(
        model=Run,
        pk=run_id,
        running_status=Run.Status.RUNNING,
        waiting_status=Run.Status.WAITING_CONFIRMATION,
        claim={"claim_token": token},
        machine_id=machine.pk,
        route_field="route",
    )
    task = Task(
        instruction=run.instruction,
        model=run.model,
        route=scenario.route,
        max_turns=scenario.max_turns,
        timeout_s=float(scenario.timeout_seconds),
        checks=scenario.render_checks(run.input),
    )
    result = engine_invoke(owner=owner, task=task, provider=run.auth_provider)
    summary, error, reason = result.summary, "", ""
    if result.status == Run.Status.FAILED:
        error = reason = result.summary
    elif result.status == Run.Status.STOPPED:
        reason = result.summary or "Stopped on request."
    return _finish(run_id, token, status=result.status, summary=summary, error=error, reason=reason, usage=result.usage)


def _finish(run_id: str, token: str, *, status: str, summary: str, error: str, reason: str, usage: dict) -> str | None:
    now = timezone.now()
    # The final status and its event in one transaction: a reader never sees a finished run whose
    # stream lacks its last event (the stream would answer 204 and the event would never arrive).
    with transaction.atomic():
        updated = Run.objects.filter(
            pk=run_id, claim_token=token, status__in=(Run.Status.RUNNING, Run.Status.WAITING_CONFIRMATION)
        ).update(
            status=status,
            finished_at=now,
            heartbeat_at=now,
            summary=redact(summary)[:20000],
            error=redact(error)[:5000],
            status_reason=redact(reason)[:2000],
            usage=usage,
        )
        if not updated:
            logger.warning("Run %s was finished by someone else (swept?) before it could record %s", run_id, status)
            return None
        _status_event(run_id, status, redact(reason)[:2000])
        Run.objects.filter(pk=run_id).update(event_count=Event.objects.filter(owner_id=run_id).count())
    return status


# --- Crash recovery -------------------------------------------------------------------------------


def runs_sweep(*, stale_seconds: float | None = None) -> dict:
    """Mark runs whose heartbeat went stale `interrupted` and free desktops nobody drives.

    Never re-runs anything. A NULL heartbeat counts by the run's start (or creation) time, so a
    row that never beat cannot stay `running` forever.
    """
    limit = stale_before(stale_seconds)
    stale = Run.objects.annotate(beat=Coalesce("heartbeat_at", "started_at", "created_at")).filter(
        Q(status__in=(Run.Status.RUNNING, Run.Status.WAITING_CONFIRMATION))
        # A queued run a worker picked up (and then died holding) is as orphaned as a running one.
        | Q(status=Run.Status.QUEUED) & ~Q(claim_token=""),
        beat__lt=limit,
    )
    interrupted = [
        run_id for run_id in stale.values_list("pk", flat=True) if _interrupt(run_id, INTERRUPTED_REASON, limit)
    ]
    freed = desktop_sweep()
    return {"interrupted": interrupted, "desktopsFreed": freed}


def runs_sweep_machine_start(*, machine_id: int, started_at) -> dict:
    """At worker start: whatever this machine picked up before this worker process started
    (`started_at`) can no longer be executing, so those runs are interrupted and the desktop is
    freed now, without waiting for heartbeats to go stale. Runs this process has already picked
    up (heartbeat after `started_at`) are left alone."""
    orphans = Run.objects.filter(machine_id=machine_id).filter(
        Q(status__in=(Run.Status.RUNNING, Run.Status.WAITING_CONFIRMATION))
        | Q(status=Run.Status.QUEUED) & ~Q(claim_token="")
    )
    interrupted = [
        run_id
        for run_id in orphans.values_list("pk", flat=True)
        if _interrupt(run_id, INTERRUPTED_AT_START_REASON, started_at)
    ]
    freed = desktop_sweep(machine_id=machine_id, claimed_before=started_at)
    return {"interrupted": interrupted, "desktopsFreed": freed}


def _interrupt(run_id: str, reason: str, stale_limit) -> bool:
    now = timezone.now()
    rows = Run.objects.filter(pk=run_id).filter(
        Q(status__in=(Run.Status.RUNNING, Run.Status.WAITING_CONFIRMATION))
        | Q(status=Run.Status.QUEUED) & ~Q(claim_token="")
    )
    if stale_limit is not None:
        # Re-checked inside the UPDATE: a heartbeat that arrived since the SELECT keeps the run alive.
        rows = rows.annotate(beat=Coalesce("heartbeat_at", "started_at", "created_at")).filter(beat__lt=stale_limit)
    # The status and its events together, as in _finish.
    with transaction.atomic():
        if not rows.update(status=Run.Status.INTERRUPTED, finished_at=now, status_reason=reason, error=reason):
            return False
        confirmations_expire(owner_id=run_id)
        machine_id = Run.objects.filter(pk=run_id).values_list("machine_id", flat=True).first()
        if machine_id:
            desktop_release(machine_id=machine_id, holder=run_id)
        event_append(owner_id=run_id, type="error", data={"code": "interrupted", "message": reason})
        _status_event(run_id, Run.Status.INTERRUPTED, reason)
        Run.objects.filter(pk=run_id).update(event_count=Event.objects.filter(owner_id=run_id).count())
    logger.warning("Run %s interrupted: %s", run_id, reason)
    return True
