"""Live sessions: create, take one instruction at a time, confirm, stop, observe, close, sweep.

Every state change is one conditional UPDATE whose row count says who won, so two requests (or a
request and the worker) can never both believe they moved the session. The web side claims the
session *and* the machine's desktop in one transaction when a command is submitted: a second
command, or a command while a run drives the desktop, is refused with 409 there and then.
"""

from __future__ import annotations

import io
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.disk import disk_nearly_full
from core.errors import Conflict, DiskFull, InvalidInput, NotFound, Unavailable
from events.models import Screenshot
from events.services import event_append, screenshot_store
from runs.dispatch import REDISPATCH_SECONDS, machine_queue, machines_online
from runs.execution.claims import desktop_claim, desktop_release, stale_before, worker_alive
from runs.execution.confirmations import confirmation_resolve, confirmations_expire
from runs.models import AuthProvider, Confirmation, Machine
from sessions.models import LiveSession, new_command_id

logger = logging.getLogger("deskhand.sessions")

MAX_INSTRUCTION_CHARS = 20_000
STOPPED_BEFORE_START = "Stopped on request before the command started."
STOPPED_WORKER_GONE = "Stopped on request; its worker was no longer running, so it was ended at once."


# --- helpers ----------------------------------------------------------------------------------


def _session(session_id: str) -> LiveSession:
    session = LiveSession.objects.filter(pk=session_id).first()
    if session is None:
        raise NotFound(f"No live session {session_id}.")
    return session


def _emit_status(session_id: str, status: str, **extra) -> None:
    event_append(owner_id=session_id, type="status", data={"status": status, **extra})


def _check_provider(value: str, field: str = "authProvider") -> str:
    if value not in AuthProvider.values:
        raise InvalidInput(field, f"must be one of: {', '.join(AuthProvider.values)} (got {value!r})")
    return value


def _check_model(value: str, field: str = "model") -> str:
    value = (value or "").strip()
    if not value or len(value) > 100:
        raise InvalidInput(field, 'must be a model name of 1 to 100 characters, e.g. "gpt-5.4"')
    return value


def machine_local() -> Machine:
    """This process's machine row (its worker registers the same name)."""
    machine, _ = Machine.objects.get_or_create(name=settings.MACHINE_NAME)
    return machine


def _machine_for_session(name: str | None) -> Machine:
    """The machine a new session is bound to: the one asked for, else a free online one (the
    least busy first), else this process's own machine (its worker may still be starting)."""
    if name:
        machine = Machine.objects.filter(name=name).first()
        if machine is None:
            known = ", ".join(Machine.objects.order_by("name").values_list("name", flat=True)) or "none yet"
            raise InvalidInput("machine", f"no machine {name!r}; known machines: {known} (GET /api/machines)")
        return machine
    online = machines_online().order_by("name")
    return online.filter(desktop_holder="").first() or online.first() or machine_local()


# --- create / close ---------------------------------------------------------------------------


def session_create(
    *, model: str | None = None, auth_provider: str | None = None, machine: str | None = None
) -> LiveSession:
    """A new idle session, bound to one machine for its whole life: its commands, observe and
    screen stream all go there."""
    model = _check_model(model if model is not None else settings.DEFAULT_MODEL)
    auth_provider = _check_provider(auth_provider or AuthProvider.API_KEY)
    bound = _machine_for_session(machine)
    problem = disk_nearly_full()
    if problem:
        raise DiskFull(problem, details={"dataDir": str(settings.DATA_DIR)})
    with transaction.atomic():
        session = LiveSession.objects.create(model=model, auth_provider=auth_provider, machine=bound)
        _emit_status(session.pk, LiveSession.Status.IDLE, reason="Session created.")
    return session


def session_close(*, session_id: str) -> LiveSession:
    """Close for good: a running command is told to stop, a pending confirmation expires, the event
    stream ends. Closing a closed session changes nothing (idempotent)."""
    session = _session(session_id)
    now = timezone.now()
    with transaction.atomic():
        closed = (
            LiveSession.objects.filter(pk=session_id)
            .exclude(status=LiveSession.Status.CLOSED)
            .update(
                status=LiveSession.Status.CLOSED,
                closed_at=now,
                updated_at=now,
                stop_requested_at=now,
                status_reason="Closed on request.",
            )
        )
        if closed:
            confirmations_expire(owner_id=session_id)
            _emit_status(session_id, LiveSession.Status.CLOSED, reason="Closed on request.")
    if closed and session.status in LiveSession.BUSY and session.heartbeat_at is None and session.machine_id:
        # The command never started, so no worker will release the desktop it was given.
        desktop_release(machine_id=session.machine_id, holder=session_id)
    session.refresh_from_db()
    return session


# --- commands -------------------------------------------------------------------------------


def session_command_submit(
    *, session_id: str, instruction: str, model: str | None = None, auth_provider: str | None = None
) -> LiveSession:
    """Claim the session and the desktop for one instruction, then enqueue it (202), or refuse (409).

    The claim is one conditional UPDATE inside an IMMEDIATE transaction (SQLite) / row lock
    (PostgreSQL): of twenty concurrent submissions exactly one sees `status IN (idle, interrupted)`.
    """
    from sessions.tasks import session_command_execute_task

    instruction = (instruction or "").strip()
    if not instruction:
        raise InvalidInput("instruction", "must not be empty: say what the agent should do")
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        raise InvalidInput("instruction", f"is longer than {MAX_INSTRUCTION_CHARS} characters")
    session = _session(session_id)
    model = _check_model(model) if model is not None else session.model
    auth_provider = _check_provider(auth_provider) if auth_provider is not None else session.auth_provider
    if session.status == LiveSession.Status.CLOSED:
        raise Conflict(f"Live session {session_id} is closed; create a new one.", code="session_closed")
    session_sweep_stale(session_id=session_id)
    machine = session.machine or machine_local()
    now = timezone.now()
    command_id = new_command_id()
    command = {
        "id": command_id,
        "instruction": instruction,
        "model": model,
        "authProvider": auth_provider,
        "status": "queued",
        "route": "",
        "summary": "",
        "createdAt": now.isoformat(),
        "startedAt": None,
        "finishedAt": None,
    }
    with transaction.atomic():
        claimed = LiveSession.objects.filter(pk=session_id, status__in=LiveSession.READY).update(
            status=LiveSession.Status.EXECUTING,
            command_id=command_id,
            command=command,
            machine=machine,
            command_count=F("command_count") + 1,
            stop_requested_at=None,
            heartbeat_at=None,
            dispatched_at=now,
            pause_requested_at=None,
            status_reason="",
            updated_at=now,
        )
        if not claimed:
            raise _busy(session_id)
        # A session that is not executing holds no desktop: free what a crashed command may have left.
        desktop_release(machine_id=machine.pk, holder=session_id)
        if not desktop_claim(machine_id=machine.pk, holder=session_id):
            holder = Machine.objects.filter(pk=machine.pk).values_list("desktop_holder", flat=True).first()
            raise Conflict(
                f"The desktop of {machine.name} is in use by {holder or 'another execution'}; wait for it to "
                "finish or stop it, then send the instruction again.",
                code="desktop_busy",
                details={"holder": holder or ""},
            )
        if not session.title:
            LiveSession.objects.filter(pk=session_id, title="").update(title=instruction[:120])
        _emit_status(session_id, LiveSession.Status.EXECUTING, commandId=command_id)
        event_append(
            owner_id=session_id,
            type="message",
            data={
                "role": "user",
                "kind": "instruction",
                "text": instruction,
                "commandId": command_id,
                "model": model,
                "authProvider": auth_provider,
            },
        )
        queue = machine_queue(machine.name)
        transaction.on_commit(
            lambda: session_command_execute_task.apply_async(args=[session_id, command_id], queue=queue)
        )
    return _session(session_id)


def _busy(session_id: str) -> Conflict:
    status = LiveSession.objects.filter(pk=session_id).values_list("status", flat=True).first()
    if status == LiveSession.Status.WAITING_CONFIRMATION:
        return Conflict(
            "The session is waiting for a confirmation: answer it with POST "
            f"/api/live-sessions/{session_id}/confirm, or stop the command.",
            code="waiting_confirmation",
        )
    if status == LiveSession.Status.CLOSED:
        return Conflict(f"Live session {session_id} is closed; create a new one.", code="session_closed")
    return Conflict(
        "Another instruction is executing in this session; wait for it to finish or stop it "
        f"with POST /api/live-sessions/{session_id}/stop.",
        code="session_busy",
    )


def session_command_execute(*, session_id: str, command_id: str) -> None:
    """The Celery task's body: run one command through the engine and write its outcome."""
    from sessions.execution import command_run

    command_run(session_id=session_id, command_id=command_id)


# --- confirm / stop ---------------------------------------------------------------------------


def session_confirm(*, session_id: str, choice: str, fingerprint: str | None = None) -> Confirmation:
    """A person's answer to the pending confirmation. It applies to that one action only (the
    execution consumes it for the fingerprint it asked about); with `fingerprint`, only if the
    pending action is still that exact one."""
    if choice not in ("confirmed", "declined"):
        raise InvalidInput("choice", f'must be "confirmed" or "declined" (got {choice!r})')
    _session(session_id)
    resolved = confirmation_resolve(owner_id=session_id, choice=choice, fingerprint=fingerprint or None)
    if resolved is None:
        raise Conflict(
            "Nothing is waiting for a confirmation in this session"
            + (" with that fingerprint." if fingerprint else "."),
            code="no_pending_confirmation",
        )
    return resolved


def session_stop(*, session_id: str) -> LiveSession:
    """Stop the running command: it turns `stopping` and its worker ends it within a second or two
    (a model call in flight is cancelled, a shell command's process group killed) and puts the
    session back to `idle`. A command no worker has started yet, or whose worker is gone, is ended
    here and now."""
    session = _session(session_id)
    if session.status not in LiveSession.BUSY:
        raise Conflict(f"Nothing is executing in this session (it is {session.status}).", code="not_executing")
    now = timezone.now()
    # Not started yet (no heartbeat): the worker's start claim is conditional on the same column,
    # so exactly one of "stop before start" and "start" wins.
    if _command_end(
        session,
        status=LiveSession.Status.IDLE,
        outcome="stopped",
        reason=STOPPED_BEFORE_START,
        only=Q(heartbeat_at__isnull=True),
    ):
        return _session(session_id)
    with transaction.atomic():
        if LiveSession.objects.filter(
            pk=session_id, status__in=LiveSession.BUSY, stop_requested_at__isnull=True
        ).update(status=LiveSession.Status.STOPPING, stop_requested_at=now, updated_at=now):
            confirmations_expire(owner_id=session_id)
            _emit_status(
                session_id, LiveSession.Status.STOPPING, reason="Stop requested.", commandId=session.command_id
            )
    session.refresh_from_db()
    if session.status in LiveSession.BUSY and not worker_alive(
        heartbeat_at=session.heartbeat_at, machine=session.machine
    ):
        _command_end(session, status=LiveSession.Status.IDLE, outcome="stopped", reason=STOPPED_WORKER_GONE)
    return _session(session_id)


def session_pause(*, session_id: str) -> LiveSession:
    """Ask the running command to hand the desktop to a person at its next safe point (`paused`)."""
    session = _session(session_id)
    if session.status not in (
        LiveSession.Status.EXECUTING,
        LiveSession.Status.WAITING_CONFIRMATION,
        LiveSession.Status.PAUSED,
    ):
        raise Conflict(
            f"Nothing is executing in this session (it is {session.status}).",
            code="not_executing",
            details={"status": session.status},
        )
    if (
        LiveSession.objects.filter(pk=session_id, status__in=LiveSession.BUSY, pause_requested_at__isnull=True)
        .exclude(status=LiveSession.Status.STOPPING)
        .update(pause_requested_at=timezone.now())
    ):
        event_append(
            owner_id=session_id,
            type="log",
            data={"level": "info", "message": "Pause requested.", "commandId": session.command_id},
        )
    return _session(session_id)


def session_resume(*, session_id: str) -> LiveSession:
    """Hand the desktop back: the command goes on from a fresh screenshot."""
    session = _session(session_id)
    if (
        not LiveSession.objects.filter(pk=session_id, status__in=LiveSession.BUSY, pause_requested_at__isnull=False)
        .exclude(status=LiveSession.Status.STOPPING)
        .update(pause_requested_at=None)
    ):
        raise Conflict(
            f"The session is {session.status}, not paused: there is nothing to resume.",
            code="not_paused",
            details={"status": session.status},
        )
    event_append(
        owner_id=session_id,
        type="log",
        data={"level": "info", "message": "Resume requested.", "commandId": session.command_id},
    )
    return _session(session_id)


def _command_end(session: LiveSession, *, status: str, outcome: str, reason: str, only: Q | None = None) -> bool:
    """End the session's current command from outside its worker (stopped before it started, its
    worker gone or dead): the session goes to `status` with `reason`, if the command is still the
    one `session` saw and matches `only`. True when this call ended it."""
    now = timezone.now()
    record = {**session.command, "status": outcome, "summary": reason, "finishedAt": now.isoformat()}
    with transaction.atomic():
        ended = (
            LiveSession.objects.filter(pk=session.pk, command_id=session.command_id, status__in=LiveSession.BUSY)
            .filter(only or Q())
            .update(
                status=status,
                command_id="",
                command=record,
                stop_requested_at=None,
                pause_requested_at=None,
                status_reason=reason,
                updated_at=now,
            )
        )
        if ended:
            confirmations_expire(owner_id=session.pk)
            _emit_status(session.pk, status, reason=reason, commandId=session.command_id, outcome=outcome)
    if ended and session.machine_id:
        desktop_release(machine_id=session.machine_id, holder=session.pk)
    return bool(ended)


# --- observe ----------------------------------------------------------------------------------


def session_observe(*, session_id: str) -> dict:
    """Capture the session's desktop now: a stored screenshot (and a `screenshot` event), the visible
    windows, and the machine's freshly checked display facts. Captured by this process, or, in the
    scaled mode, by the worker of the session's machine (sessions.remote_screen). 503 when no display
    is reachable."""
    from sessions import remote_screen

    session = _open_session(session_id)
    if remote_screen.captured_here(session.machine):
        return session_observe_here(session_id=session_id)
    answer = remote_screen.observe_remotely(session_id=session_id, machine=session.machine)
    return {
        "session": _session(session_id),
        "machine": Machine.objects.get(pk=session.machine_id),
        "windows": answer["windows"],
        "screenshot": Screenshot.objects.get(pk=answer["screenshot"]),
    }


def _open_session(session_id: str) -> LiveSession:
    session = _session(session_id)
    if session.status == LiveSession.Status.CLOSED:
        raise Conflict(f"Live session {session_id} is closed; create a new one.", code="session_closed")
    return session


def session_observe_here(*, session_id: str) -> dict:
    """Observe with this process's own display (the session's machine is this process's machine)."""
    from agent.computer import get_computer
    from agent.errors import ComputerUnavailable

    _open_session(session_id)
    try:
        computer = get_computer()
        capture = computer.screenshot()
        windows = computer.windows()
    except ComputerUnavailable as exc:
        raise Unavailable(f"No desktop to observe: {exc.message}", code="display_unavailable") from None
    except Exception as exc:  # noqa: BLE001 - mss/Xlib raise their own types for a missing display
        raise Unavailable(
            f"No desktop to observe: cannot capture the screen of display {_display_name()} ({exc}). "
            "Run the server inside a desktop session or set DISPLAY.",
            code="display_unavailable",
        ) from None
    image = capture.image
    buffer = io.BytesIO()
    # Lossless (a person reads text in it), with the fastest zlib level: ~4x cheaper than the default.
    image.save(buffer, format="PNG", compress_level=1)
    shot = screenshot_store(
        owner_id=session_id, data=buffer.getvalue(), mime="image/png", width=image.width, height=image.height
    )
    now = timezone.now()
    machine = machine_local()
    Machine.objects.filter(pk=machine.pk).update(
        display_reachable=True, screen_width=image.width, screen_height=image.height, last_heartbeat=now
    )
    LiveSession.objects.filter(pk=session_id).update(updated_at=now, machine=machine)
    focused = next((w for w in windows if w.get("focused")), None)
    event_append(
        owner_id=session_id,
        type="screenshot",
        data={
            "ref": shot.pk,
            "width": image.width,
            "height": image.height,
            "mime": "image/png",
            "source": "observe",
            "windowCount": len(windows),
            "focusedWindow": focused.get("title") if focused else None,
        },
    )
    machine.refresh_from_db()
    return {"session": _session(session_id), "machine": machine, "windows": windows, "screenshot": shot}


def _display_name() -> str:
    import os

    return repr(os.environ.get("DISPLAY", ""))


# --- the sweeper ------------------------------------------------------------------------------


def session_sweep_stale(*, session_id: str | None = None) -> list[str]:
    """Mark executing sessions whose worker stopped heartbeating `interrupted` (nothing resumes on
    its own; the session takes a new instruction). Returns the swept ids.

    A command no worker has picked up has no heartbeat yet: its age counts from when it was
    submitted (`updated_at`); the dispatcher re-sends its message meanwhile.
    """
    limit = stale_before()
    candidates = LiveSession.objects.filter(status__in=LiveSession.BUSY).filter(
        Q(heartbeat_at__lt=limit) | Q(heartbeat_at__isnull=True, updated_at__lt=limit)
    )
    if session_id:
        candidates = candidates.filter(pk=session_id)
    reason = (
        "The worker executing this command stopped responding (no heartbeat for "
        f"{settings.HEARTBEAT_STALE_SECONDS} s); the command was interrupted. Send it again if needed."
    )
    stale = Q(heartbeat_at__lt=limit) | Q(heartbeat_at__isnull=True, updated_at__lt=limit)
    return [
        session.pk
        for session in candidates
        if _command_end(
            session, status=LiveSession.Status.INTERRUPTED, outcome="interrupted", reason=reason, only=stale
        )
    ]


def sessions_recover_machine(*, machine_id: int, before, reason: str) -> list[str]:
    """Commands `machine_id`'s worker had started before `before` belong to a process that is gone:
    interrupted at once. Commands it had not started are sent again by the dispatcher."""
    started = Q(heartbeat_at__isnull=False, heartbeat_at__lt=before)
    return [
        session.pk
        for session in LiveSession.objects.filter(machine_id=machine_id, status__in=LiveSession.BUSY).filter(started)
        if _command_end(
            session, status=LiveSession.Status.INTERRUPTED, outcome="interrupted", reason=reason, only=started
        )
    ]


def session_commands_redispatch() -> list[str]:
    """Commands no worker started within `REDISPATCH_SECONDS` of their message: sent again (the
    worker's start claim makes a duplicate harmless)."""
    from sessions.tasks import session_command_execute_task

    limit = timezone.now() - timezone.timedelta(seconds=REDISPATCH_SECONDS)
    resent = []
    waiting = LiveSession.objects.filter(
        status__in=LiveSession.BUSY, heartbeat_at__isnull=True, dispatched_at__lt=limit, machine__isnull=False
    ).select_related("machine")
    for session in waiting:
        if LiveSession.objects.filter(
            pk=session.pk, command_id=session.command_id, heartbeat_at__isnull=True, dispatched_at__lt=limit
        ).update(dispatched_at=timezone.now()):
            session_command_execute_task.apply_async(
                args=[session.pk, session.command_id], queue=machine_queue(session.machine.name)
            )
            resent.append(session.pk)
    return resent
