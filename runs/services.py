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
from core.redact import masked_while, redact
from core.sealed import seal, unseal
from events.models import Event
from events.services import event_append
from runs import execution
from runs.models import Confirmation, Machine, Run, RunSecret
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
    values = scenario.with_defaults(values)
    return _enqueue(
        scenario=scenario,
        auth_provider=auth_provider,
        model=model or settings.DEFAULT_MODEL,
        values=values,
        secrets=scenario.secret_values(values),
    )


def _enqueue(
    *,
    scenario: Scenario,
    auth_provider: str,
    model: str,
    values: dict,
    secrets: dict | None = None,
    retry_of: Run | None = None,
) -> Run:
    from runs.tasks import run_execute_task

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
            retry_of=retry_of,
        )
        if secrets:
            RunSecret.objects.create(run=run, sealed=seal(secrets))
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
            RunSecret.objects.filter(run_id=run_id).delete()
    if stopped:
        # The worker task that may hold it (waiting for the desktop) sees the status and exits.
        return _get(run_id)
    active = (Run.Status.RUNNING, Run.Status.WAITING_CONFIRMATION)
    if Run.objects.filter(pk=run_id, status__in=active, stop_requested_at__isnull=True).update(stop_requested_at=now):
        event_append(owner_id=run_id, type="log", data={"level": "info", "message": "Stop requested."})
        # A pending confirmation must not be answered after a stop: expire it now.
        Confirmation.objects.filter(owner_id=run_id, status=Confirmation.Status.PENDING).update(
            status=Confirmation.Status.EXPIRED, resolved_at=now
        )
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
    answered = execution.confirmation_resolve(owner_id=run_id, choice=choice, fingerprint=fingerprint)
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
            Q(claim_token="") | Q(heartbeat_at__lt=execution.stale_before())
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
        execution.desktop_release(machine_id=machine.pk, holder=run_id)


def _local_machine() -> Machine:
    machine = Machine.objects.filter(name=settings.MACHINE_NAME).first()
    return machine or machine_register()


def _wait_for_desktop(run_id: str, token: str, machine: Machine) -> bool:
    """Block until this run holds the desktop and is `running`; False if it was stopped meanwhile."""
    run = Run.objects.get(pk=run_id)
    next_beat = 0.0
    while True:
        with transaction.atomic():
            if execution.desktop_claim(machine_id=machine.pk, holder=run_id, queued_before=run):
                now = timezone.now()
                started = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED, claim_token=token).update(
                    status=Run.Status.RUNNING, started_at=now, heartbeat_at=now
                )
                if started:
                    _status_event(run_id, Run.Status.RUNNING)
                    return True
                # Stopped (or swept) between our checks: give the desktop back in the same transaction.
                execution.desktop_release(machine_id=machine.pk, holder=run_id)
                return False
        if time.monotonic() >= next_beat:
            # A waiting run heartbeats too: the sweeper can tell a live queue from an orphan.
            if not Run.objects.filter(pk=run_id, status=Run.Status.QUEUED, claim_token=token).update(
                heartbeat_at=timezone.now()
            ):
                return False
            next_beat = time.monotonic() + execution.heartbeat_interval()
        elif not Run.objects.filter(pk=run_id, status=Run.Status.QUEUED, claim_token=token).exists():
            return False
        time.sleep(DESKTOP_POLL_SECONDS)


def _execute_claimed(run_id: str, token: str, machine: Machine) -> str | None:
    from agent.engine import Task, run_task

    run = Run.objects.get(pk=run_id)
    secrets = run_secrets_take(run_id=run_id)  # whatever happens next, they leave the database now
    owner = execution.ExecutionOwner(
        model=Run,
        pk=run_id,
        running_status=Run.Status.RUNNING,
        waiting_status=Run.Status.WAITING_CONFIRMATION,
        claim={"claim_token": token},
        machine_id=machine.pk,
    )
    memory, writer = execution.memory_provider_build(owner_id=run_id)
    sink = execution.DjangoSink(owner, memory_writer=writer)
    scenario = Scenario.from_dict(run.scenario) if run.scenario else scenario_get(scenario_id=run.scenario_id)
    status, summary, error, reason = Run.Status.FAILED, "", "", ""
    computer = None
    try:
        missing = execution.missing_credentials(provider=run.auth_provider)
        if scenario is None:
            error = f"The scenario {run.scenario_id!r} no longer exists."
            sink.emit("error", {"code": "scenario_missing", "message": error})
        elif missing:
            error = missing
            sink.emit("error", {"code": "auth_missing", "message": error})
        else:
            computer = execution.computer_get()
            task = Task(
                instruction=run.instruction,
                secrets=secrets,
                model=run.model,
                route=scenario.route,
                max_turns=scenario.max_turns,
                timeout_s=float(scenario.timeout_seconds),
            )
            with execution.Heartbeat(sink), masked_while(secrets.values()):
                outcome = run_task(
                    task,
                    sink=sink,
                    client=execution.model_client_build(provider=run.auth_provider),
                    computer=computer,
                    memory=memory,
                    protected_paths=execution.protected_paths(),
                    browser=execution.browser_config_build(),
                    screen=execution.screen_config_build(),
                )
            status, summary = outcome.status, outcome.summary
            if status == Run.Status.FAILED:
                error = summary
            elif status == Run.Status.STOPPED:
                reason = summary or "Stopped on request."
            elif status == Run.Status.SUCCEEDED:
                failures = checks_evaluate(checks=scenario.render_checks(run.input), computer=computer)
                if failures:
                    status, error = Run.Status.FAILED, "A success check failed: " + "; ".join(failures)
                    sink.emit(
                        "error",
                        {
                            "code": "check_failed",
                            "message": error + ". The model reported success "
                            "but the screen does not show it; look at the last screenshot.",
                        },
                    )
                else:
                    sink.emit(
                        "log",
                        {
                            "level": "info",
                            "message": "Success checks passed." if scenario.checks else "No success checks defined.",
                        },
                    )
    except Exception as exc:
        logger.exception("Run %s failed outside the engine", run_id)
        status, error = (
            Run.Status.FAILED,
            redact(f"Internal error while executing the run: {type(exc).__name__}: {exc}"),
        )
        sink.emit("error", {"code": "internal_error", "message": error + " This is a bug; the worker log has details."})
    finally:
        if computer is not None:
            try:
                computer.release_all()  # also done by the engine; harmless twice, fatal if never
            except Exception:  # noqa: BLE001
                pass
    return _finish(run_id, token, status=status, summary=summary, error=error, reason=reason or error, usage=sink.usage)


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


def checks_evaluate(*, checks: list[dict], computer) -> list[str]:
    """The checks that failed, each as a sentence; empty when all pass.

    `windowTitle`: a regular expression some visible window's title matches.
    `textInWindow`: text contained in a window title, or in the focused window's text (read by
    select-all and copy, the user's clipboard restored, the selection collapsed again).
    """
    import re

    failures = []
    for check in checks:
        titles = [w.get("title") or "" for w in computer.windows()]
        if "windowTitle" in check:
            pattern = check["windowTitle"]
            try:
                matched = any(re.search(pattern, title) for title in titles)
            except re.error as exc:
                failures.append(f"windowTitle {pattern!r} is not a valid regular expression ({exc})")
                continue
            if not matched:
                failures.append(f"no window title matches {pattern!r} (titles: {titles[:8]})")
        elif "textInWindow" in check:
            text = check["textInWindow"]
            if any(text in title for title in titles):
                continue
            content = _focused_window_text(computer)
            if content is None or text not in content:
                failures.append(f"the text {text!r} is not in the focused window")
    return failures


def _focused_window_text(computer) -> str | None:
    try:
        from agent import clipboard

        previous = clipboard.read_clipboard()
        computer.keypress(["ctrl", "a"])
        computer.keypress(["ctrl", "c"])
        text = None
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            text = clipboard.read_clipboard()
            if text is not None and text != previous:
                break
            time.sleep(0.05)
        computer.keypress(["ctrl", "end"])  # collapse the selection: the next typing must not replace it
        if previous is not None:
            clipboard.write_clipboard(previous)
        return text
    except Exception:
        logger.warning("Could not read the focused window's text", exc_info=True)
        return None


# --- Crash recovery -------------------------------------------------------------------------------


def runs_sweep(*, stale_seconds: float | None = None) -> dict:
    """Mark runs whose heartbeat went stale `interrupted` and free desktops nobody drives.

    Never re-runs anything. A NULL heartbeat counts by the run's start (or creation) time, so a
    row that never beat cannot stay `running` forever.
    """
    limit = execution.stale_before(stale_seconds)
    stale = Run.objects.annotate(beat=Coalesce("heartbeat_at", "started_at", "created_at")).filter(
        Q(status__in=(Run.Status.RUNNING, Run.Status.WAITING_CONFIRMATION))
        # A queued run a worker picked up (and then died holding) is as orphaned as a running one.
        | Q(status=Run.Status.QUEUED) & ~Q(claim_token=""),
        beat__lt=limit,
    )
    interrupted = [
        run_id for run_id in stale.values_list("pk", flat=True) if _interrupt(run_id, INTERRUPTED_REASON, limit)
    ]
    freed = execution.desktop_sweep()
    # Secrets of runs that ended before a worker took them (stopped, interrupted while queued).
    RunSecret.objects.filter(run__status__in=Run.TERMINAL).delete()
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
    freed = execution.desktop_sweep(machine_id=machine_id, claimed_before=started_at)
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
        Confirmation.objects.filter(owner_id=run_id, status=Confirmation.Status.PENDING).update(
            status=Confirmation.Status.EXPIRED, resolved_at=now
        )
        machine_id = Run.objects.filter(pk=run_id).values_list("machine_id", flat=True).first()
        if machine_id:
            execution.desktop_release(machine_id=machine_id, holder=run_id)
        event_append(owner_id=run_id, type="error", data={"code": "interrupted", "message": reason})
        _status_event(run_id, Run.Status.INTERRUPTED, reason)
        Run.objects.filter(pk=run_id).update(event_count=Event.objects.filter(owner_id=run_id).count())
    logger.warning("Run %s interrupted: %s", run_id, reason)
    return True
