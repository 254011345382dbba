"""Writes and state changes of runs and machines. Every status change is a conditional UPDATE
(claimed, not checked-then-written) followed by a `status` event.
"""

from __future__ import annotations

import logging
import platform
import time
import uuid
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.disk import disk_nearly_full
from core.errors import Conflict, DiskFull, InvalidInput, NotFound
from core.redact import masked_while, redact
from core.sealed import seal, unseal
from events.models import Event
from events.services import event_append
from runs.dispatch import runs_dispatch_on_commit, runs_release
from runs.execution import process
from runs.execution.claims import (
    desktop_claim,
    desktop_release,
    desktop_sweep,
    heartbeat_interval,
    stale_before,
    worker_alive,
)
from runs.execution.confirmations import confirmation_resolve, confirmations_expire
from runs.execution.invoke import engine_invoke
from runs.execution.owner import ExecutionOwner
from runs.models import Confirmation, Machine, Run, RunMode, RunSecret
from runs.recordings import ReplayChoice, replay_choose, replay_outcome_fields, replay_plan
from scenarios.catalog import Scenario, scenario_get

logger = logging.getLogger("deskhand.runs")

# How often a run waiting for the desktop looks again (and how fast it notices a stop).
DESKTOP_POLL_SECONDS = 0.25

INTERRUPTED_REASON = (
    "The worker executing this run stopped sending heartbeats (it was killed, crashed, or the machine "
    "restarted). Nothing was re-run automatically; retry the run if you still want it."
)
STOPPED_QUEUED_REASON = "Stopped before it started, on request."
STOPPED_WORKER_GONE_REASON = "Stopped on request; its worker was no longer running, so it was ended at once."
INTERRUPTED_AT_START_REASON = (
    "The worker executing this run was restarted before the run finished (it was killed or crashed). "
    "Nothing was re-run automatically; retry the run if you still want it."
)


def _status_event(run_id: str, status: str, reason: str = "") -> None:
    event_append(owner_id=run_id, type="status", data={"status": status, **({"reason": reason} if reason else {})})


# --- Creating, stopping, retrying ---------------------------------------------------------------


def run_create(
    *,
    scenario_id: str,
    auth_provider: str,
    model: str | None = None,
    input: dict | None = None,
    limits: dict | None = None,
    machine: str | None = None,
    mode: str | None = None,
    replay_of: str | None = None,
) -> Run:
    """A `queued` run of a catalog scenario, handed to a machine once the transaction commits.

    `limits` (maxTurns, timeoutSeconds, maxTokens) override the scenario's; `machine` names the
    machine that must run it (default: the first free one); `mode` and `replay_of` choose between
    the model and a recording (runs.recordings.replay_choose).
    """
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
    if machine and not Machine.objects.filter(name=machine).exists():
        known = ", ".join(Machine.objects.order_by("name").values_list("name", flat=True)) or "none yet"
        raise InvalidInput("machine", f"no machine {machine!r}; known machines: {known} (GET /api/machines)")
    values = scenario.with_defaults(values)
    secrets = scenario.secret_values(values)
    return _enqueue(
        scenario=scenario,
        auth_provider=auth_provider,
        model=model or settings.DEFAULT_MODEL,
        values=values,
        secrets=secrets,
        limits=limits or {},
        machine=machine or "",
        replay=replay_choose(scenario=scenario, values=values, secrets=secrets, mode=mode, replay_of=replay_of),
    )


def _enqueue(
    *,
    scenario: Scenario,
    auth_provider: str,
    model: str,
    values: dict,
    limits: dict,
    machine: str,
    secrets: dict | None = None,
    retry_of: Run | None = None,
    replay: ReplayChoice | None = None,
) -> Run:
    problem = disk_nearly_full()
    if problem:
        raise DiskFull(problem, details={"dataDir": str(settings.DATA_DIR)})
    with transaction.atomic():
        run = Run.objects.create(
            scenario_id=scenario.id,
            scenario=scenario.as_dict(),
            title=scenario.title,
            auth_provider=auth_provider,
            model=model,
            # Secret inputs are kept as *** and sealed apart; the instruction holds their placeholders.
            input=scenario.masked(values),
            instruction=scenario.render_instruction(values),
            limits=limits,
            requested_machine=machine,
            retry_of=retry_of,
            mode=replay.mode if replay else RunMode.MODEL,
            replay_of=replay.recording if replay else None,
        )
        if secrets:
            RunSecret.objects.create(run=run, sealed=seal(secrets))
        reasons = [f"Retry of {retry_of.id}." if retry_of else ""]
        if replay and replay.recording:
            reasons.append(f"Replays {replay.recording.id}; the model only where the screen differs.")
        reasons.append(replay.note if replay else "")
        _status_event(run.id, Run.Status.QUEUED, " ".join(filter(None, reasons)))
        runs_dispatch_on_commit()
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
    kept_secrets = [name for name in scenario.secret_inputs if original.input.get(name) not in (None, "")]
    if kept_secrets:
        raise Conflict(
            f"Run {run_id} had secret inputs ({', '.join(kept_secrets)}), which are not kept once a run starts; "
            "start a new run with POST /api/runs and give them again.",
            code="secret_inputs_gone",
            details={"fields": [f"input.{name}" for name in kept_secrets]},
        )
    run = _enqueue(
        scenario=scenario,
        auth_provider=original.auth_provider,
        model=original.model,
        values=original.input,
        limits=original.limits,
        machine=original.requested_machine,
        retry_of=original,
        # Asked the same way again: the same recording, or (auto) the newest that fits now.
        replay=replay_choose(
            scenario=scenario, values=original.input, secrets={}, mode=original.mode, replay_of=original.replay_of_id
        ),
    )
    event_append(
        owner_id=original.id, type="log", data={"level": "info", "message": f"Retried as {run.id}.", "retry": run.id}
    )
    return run


def run_stop(*, run_id: str) -> Run:
    """Stop a run: a queued one at once; a running (or paused, or waiting) one turns `stopping`
    and its worker ends it within a second or two, cancelling a model call in flight. A run whose
    worker is gone is ended here and now."""
    run = _get(run_id)
    now = timezone.now()
    with transaction.atomic():  # a status and its event together, as in _finish
        if Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).update(
            status=Run.Status.STOPPED, stop_requested_at=now, finished_at=now, status_reason=STOPPED_QUEUED_REASON
        ):
            # A worker task that picked it up (waiting for the desktop) sees the status and exits.
            _status_event(run_id, Run.Status.STOPPED, STOPPED_QUEUED_REASON)
            RunSecret.objects.filter(run_id=run_id).delete()
            return _get(run_id)
        if Run.objects.filter(pk=run_id, status__in=Run.EXECUTING, stop_requested_at__isnull=True).update(
            status=Run.Status.STOPPING, stop_requested_at=now
        ):
            _status_event(run_id, Run.Status.STOPPING, "Stop requested.")
            # A pending confirmation must not be answered after a stop.
            confirmations_expire(owner_id=run_id)
    run.refresh_from_db()
    if run.status in Run.TERMINAL:
        raise Conflict(
            f"Run {run_id} has already finished ({run.status}); there is nothing to stop.",
            code="run_finished",
            details={"status": run.status},
        )
    if not worker_alive(heartbeat_at=run.heartbeat_at, machine=run.machine):
        _interrupt(run_id, STOPPED_WORKER_GONE_REASON, None, status=Run.Status.STOPPED)
        run.refresh_from_db()
    return run  # asking twice is the same request


def run_pause(*, run_id: str) -> Run:
    """Ask a running run to hand the desktop to a person: it halts at its next safe point (a model
    call in flight is cancelled and asked again later), lets go of keys and buttons, and turns
    `paused`. Asking twice is the same request."""
    run = _get(run_id)
    if run.status in (Run.Status.RUNNING, Run.Status.WAITING_CONFIRMATION, Run.Status.PAUSED):
        if (
            Run.objects.filter(pk=run_id, status__in=Run.EXECUTING, pause_requested_at__isnull=True)
            .exclude(status=Run.Status.STOPPING)
            .update(pause_requested_at=timezone.now())
        ):
            event_append(owner_id=run_id, type="log", data={"level": "info", "message": "Pause requested."})
        return _get(run_id)
    raise Conflict(
        f"Run {run_id} is {run.status}: only a running run can be paused.",
        code="not_running",
        details={"status": run.status},
    )


def run_resume(*, run_id: str) -> Run:
    """Hand the desktop back: the run continues from a fresh screenshot, told that a person used
    the desktop meanwhile."""
    run = _get(run_id)
    if (
        Run.objects.filter(pk=run_id, status__in=Run.EXECUTING, pause_requested_at__isnull=False)
        .exclude(status=Run.Status.STOPPING)
        .update(pause_requested_at=None)
    ):
        event_append(owner_id=run_id, type="log", data={"level": "info", "message": "Resume requested."})
        return _get(run_id)
    raise Conflict(
        f"Run {run_id} is {run.status}, not paused: there is nothing to resume.",
        code="not_paused",
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


def run_secrets_take(*, run_id: str) -> dict:
    """The run's secret inputs, deleted as they are read: they exist in the database only while the
    run waits for a worker, and in the worker's memory only while it executes."""
    with transaction.atomic():
        row = RunSecret.objects.filter(run_id=run_id).first()
        if row is None:
            return {}
        RunSecret.objects.filter(run_id=run_id).delete()
    return unseal(row.sealed)


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


def machine_heartbeat(*, machine_id: int) -> bool:
    """False when the machine's row is gone (deleted by a person): the worker registers again."""
    return Machine.objects.filter(pk=machine_id).update(last_heartbeat=timezone.now()) == 1


def machine_offline(*, machine_id: int) -> None:
    """The machine's worker is going away: nothing new is handed to it from now on."""
    Machine.objects.filter(pk=machine_id).update(last_heartbeat=None)


# --- Executing -----------------------------------------------------------------------------------


def run_execute(*, run_id: str, worker: str = "") -> str | None:
    """The Celery task's body: pick the run up, wait for the desktop, run the engine, record the
    outcome, hand this machine its next run. Returns the final status, or None when this task had
    nothing to do.

    A redelivered or duplicated message finds the run already picked up (or finished, or handed to
    another machine) and does nothing: the pick-up is one conditional UPDATE.
    """
    if process.shutdown_reason():
        return None  # taking no new work: the dispatcher sends it to a worker that is staying
    token = uuid.uuid4().hex
    machine = _local_machine()
    picked = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED, machine=machine, claim_token="").update(
        claim_token=token, worker=worker[:200], heartbeat_at=timezone.now()
    )
    if not picked:
        logger.info("Run %s: nothing to do here (picked up elsewhere, started, finished or not ours)", run_id)
        return None
    try:
        if not _wait_for_desktop(run_id, token, machine):
            return None
        try:
            return _execute_claimed(run_id, token, machine)
        finally:
            desktop_release(machine_id=machine.pk, holder=run_id)
    finally:
        runs_dispatch_on_commit()  # this machine is free again: its next run


def _local_machine() -> Machine:
    machine = Machine.objects.filter(name=settings.MACHINE_NAME).first()
    return machine or machine_register()


def _wait_for_desktop(run_id: str, token: str, machine: Machine) -> bool:
    """Block until this run holds the desktop and is `running`; False if it was stopped meanwhile
    or this worker is shutting down (then the run goes back to the line)."""
    mine = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED, claim_token=token)
    next_beat = 0.0
    while True:
        with transaction.atomic():
            if desktop_claim(machine_id=machine.pk, holder=run_id):
                now = timezone.now()
                if mine.update(status=Run.Status.RUNNING, started_at=now, heartbeat_at=now):
                    _status_event(run_id, Run.Status.RUNNING)
                    return True
                # Stopped (or swept) between our checks: give the desktop back in the same transaction.
                desktop_release(machine_id=machine.pk, holder=run_id)
                return False
        if process.shutdown_reason():
            runs_release(mine)
            return False
        if time.monotonic() >= next_beat:
            # A waiting run heartbeats too: the sweeper can tell a live wait from an orphan.
            if not mine.update(heartbeat_at=timezone.now()):
                return False
            next_beat = time.monotonic() + heartbeat_interval()
        elif not mine.exists():
            return False
        time.sleep(DESKTOP_POLL_SECONDS)


def _execute_claimed(run_id: str, token: str, machine: Machine) -> str | None:
    from agent.engine import Task

    run = Run.objects.get(pk=run_id)
    secrets = run_secrets_take(run_id=run_id)  # whatever happens next, they leave the database now
    scenario = Scenario.from_dict(run.scenario) if run.scenario else scenario_get(scenario_id=run.scenario_id)
    if scenario is None:
        error = f"The scenario {run.scenario_id!r} no longer exists."
        event_append(owner_id=run_id, type="error", data={"code": "scenario_missing", "message": error})
        return _finish(run_id, token, status=Run.Status.FAILED, summary="", error=error, reason=error, usage={})
    owner = ExecutionOwner(
        model=Run,
        pk=run_id,
        running_status=Run.Status.RUNNING,
        claim={"claim_token": token},
        machine_id=machine.pk,
        route_field="route",
    )
    limits = {**scenario.limits, **run.limits}
    task = Task(
        instruction=run.instruction,
        model=run.model,
        route=scenario.route,
        max_turns=limits["maxTurns"],
        timeout_s=float(limits["timeoutSeconds"]),
        max_tokens=limits.get("maxTokens"),
        no_progress_repeats=settings.NO_PROGRESS_REPEATS,
        checks=scenario.render_checks(run.input),
        secrets=secrets,
        replay=replay_plan(run=run, scenario=scenario),
    )
    with masked_while(secrets.values()):
        result = engine_invoke(owner=owner, task=task, provider=run.auth_provider)
    summary, error, reason = result.summary, "", ""
    if result.status in (Run.Status.FAILED, Run.Status.INTERRUPTED):
        error = reason = result.summary
    elif result.status == Run.Status.STOPPED:
        reason = result.summary or "Stopped on request."

    def finish() -> str | None:
        return _finish(
            run_id,
            token,
            status=result.status,
            summary=summary,
            error=error,
            reason=reason,
            usage=result.usage,
            counts=replay_outcome_fields(model_calls=result.model_calls, replay=result.replay),
        )

    return process.outcome_write(finish, what=f"Run {run_id}")


def _finish(
    run_id: str,
    token: str,
    *,
    status: str,
    summary: str,
    error: str,
    reason: str,
    usage: dict,
    counts: dict | None = None,
) -> str | None:
    now = timezone.now()
    # The final status and its event in one transaction: a reader never sees a finished run whose
    # stream lacks its last event (the stream would answer 204 and the event would never arrive).
    with transaction.atomic():
        updated = Run.objects.filter(pk=run_id, claim_token=token, status__in=Run.EXECUTING).update(
            status=status,
            finished_at=now,
            heartbeat_at=now,
            summary=redact(summary)[:20000],
            error=redact(error)[:5000],
            status_reason=redact(reason)[:2000],
            usage=usage,
            **(counts or {}),
        )
        if not updated:
            logger.warning("Run %s was finished by someone else (swept?) before it could record %s", run_id, status)
            return None
        _status_event(run_id, status, redact(reason)[:2000])
        Run.objects.filter(pk=run_id).update(event_count=Event.objects.filter(owner_id=run_id).count())
    return status


# --- Crash recovery -------------------------------------------------------------------------------


def runs_sweep(*, stale_seconds: float | None = None) -> dict:
    """Mark runs whose heartbeat went stale `interrupted`, put queued runs a dead worker had picked
    up back in the line, and free desktops nobody drives. Never re-runs anything that started.

    A NULL heartbeat counts by the run's start (or creation) time, so a row that never beat cannot
    stay `running` forever.
    """
    limit = stale_before(stale_seconds)
    beat = Coalesce("heartbeat_at", "started_at", "created_at")
    stale = Run.objects.annotate(beat=beat).filter(status__in=Run.EXECUTING, beat__lt=limit)
    interrupted = [
        run_id for run_id in stale.values_list("pk", flat=True) if _interrupt(run_id, INTERRUPTED_REASON, limit)
    ]
    released = runs_release(Run.objects.annotate(beat=beat).filter(~Q(claim_token=""), beat__lt=limit))
    # Secrets of runs that ended before a worker took them (stopped, interrupted while queued).
    RunSecret.objects.filter(run__status__in=Run.TERMINAL).delete()
    return {"interrupted": interrupted, "released": released, "desktopsFreed": desktop_sweep()}


def runs_recover_machine(*, machine_id: int, before: datetime, reason: str) -> dict:
    """Everything `machine_id`'s worker held before `before` belongs to a process that is gone (a
    worker starting up, or `serve` seeing its worker die): runs it was executing are interrupted
    with `reason`, queued runs it had picked up go back in the line, its desktop is freed; all at
    once, without waiting for heartbeats to go stale."""
    mine = Run.objects.filter(machine_id=machine_id).annotate(beat=Coalesce("heartbeat_at", "created_at"))
    interrupted = [
        run_id
        for run_id in mine.filter(status__in=Run.EXECUTING).values_list("pk", flat=True)
        if _interrupt(run_id, reason, before)
    ]
    released = runs_release(mine.filter(beat__lt=before))
    freed = desktop_sweep(machine_id=machine_id, claimed_before=before)
    return {"interrupted": interrupted, "released": released, "desktopsFreed": freed}


def _interrupt(run_id: str, reason: str, stale_limit: datetime | None, *, status: str = Run.Status.INTERRUPTED) -> bool:
    """End an executing run whose worker is gone (`interrupted`, or `stopped` when a person had
    asked for that), if its heartbeat is still older than `stale_limit`."""
    now = timezone.now()
    rows = Run.objects.filter(pk=run_id, status__in=Run.EXECUTING)
    if stale_limit is not None:
        # Re-checked inside the UPDATE: a heartbeat that arrived since the SELECT keeps the run alive.
        rows = rows.annotate(beat=Coalesce("heartbeat_at", "started_at", "created_at")).filter(beat__lt=stale_limit)
    error = reason if status == Run.Status.INTERRUPTED else ""
    # The status and its events together, as in _finish.
    with transaction.atomic():
        if not rows.update(status=status, finished_at=now, status_reason=reason, error=error):
            return False
        confirmations_expire(owner_id=run_id)
        machine_id = Run.objects.filter(pk=run_id).values_list("machine_id", flat=True).first()
        if machine_id:
            desktop_release(machine_id=machine_id, holder=run_id)
        if error:
            event_append(owner_id=run_id, type="error", data={"code": "interrupted", "message": reason})
        _status_event(run_id, status, reason)
        Run.objects.filter(pk=run_id).update(event_count=Event.objects.filter(owner_id=run_id).count())
    logger.warning("Run %s %s: %s", run_id, status, reason)
    return True
