"""One live command in the worker: claimed, run through `engine_invoke`, its outcome recorded.

What differs from a run: usage accumulates across commands, the conversation is carried from one
command to the next, and the session goes back to `idle` (not to a terminal status) when a
command ends.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.services import event_append
from runs.execution import process
from runs.execution.claims import desktop_release
from runs.execution.invoke import engine_invoke
from runs.execution.owner import ExecutionOwner
from sessions.models import LiveSession

logger = logging.getLogger("deskhand.sessions")


def command_run(*, session_id: str, command_id: str) -> None:
    from agent.engine import Task

    if process.shutdown_reason():
        return  # taking no new work: the dispatcher sends the command again to a worker that is staying
    now = timezone.now()
    # The start claim: conditional on "not started" (no heartbeat yet), the column a stop before the
    # start also claims. A redelivered message, or a command stopped or closed meanwhile, does nothing.
    started = LiveSession.objects.filter(
        pk=session_id,
        command_id=command_id,
        status__in=LiveSession.BUSY,
        heartbeat_at__isnull=True,
        stop_requested_at__isnull=True,
    ).update(heartbeat_at=now)
    if not started:
        logger.info(
            "Live command %s of %s was not started (stopped, closed or already running)", command_id, session_id
        )
        return
    session = LiveSession.objects.get(pk=session_id)
    command = {**session.command, "status": "running", "startedAt": now.isoformat()}
    LiveSession.objects.filter(pk=session_id, command_id=command_id).update(command=command)
    owner = ExecutionOwner(
        model=LiveSession,
        pk=session_id,
        running_status=LiveSession.Status.EXECUTING,
        claim={"command_id": command_id},
        machine_id=session.machine_id,
        usage_before=session.usage or {},
    )
    task = Task(
        instruction=command["instruction"],
        model=command["model"],
        history=list(session.history),
        no_progress_repeats=settings.NO_PROGRESS_REPEATS,
    )
    try:
        result = engine_invoke(owner=owner, task=task, provider=command["authProvider"])

        def finish() -> bool:
            return command_finish(
                session_id=session_id,
                command_id=command_id,
                command=command,
                status=result.status,
                summary=result.summary,
                history=result.history,
                route=result.route,
                usage=result.owner_usage,
            )

        process.outcome_write(finish, what=f"Live command {command_id} of {session_id}")
    finally:
        if session.machine_id:
            desktop_release(machine_id=session.machine_id, holder=session_id)


def command_finish(
    *,
    session_id: str,
    command_id: str,
    command: dict,
    status: str,
    summary: str,
    history: list | None,
    route: str,
    usage: dict,
) -> bool:
    """Back to idle with the command's outcome (or `interrupted`, when its worker shut down or lost the
    database), only if the command is still this session's (not closed or swept meanwhile). The
    conversation is kept either way, for the next instruction."""
    now = timezone.now()
    session_status = LiveSession.Status.INTERRUPTED if status == "interrupted" else LiveSession.Status.IDLE
    record = {**command, "status": status, "summary": summary, "route": route, "finishedAt": now.isoformat()}
    changes = {"command": record, "usage": usage, "updated_at": now}
    if history is not None:
        changes["history"] = history
    with transaction.atomic():
        finished = LiveSession.objects.filter(pk=session_id, command_id=command_id, status__in=LiveSession.BUSY).update(
            status=session_status,
            command_id="",
            stop_requested_at=None,
            pause_requested_at=None,
            status_reason=summary if session_status == LiveSession.Status.INTERRUPTED else "",
            **changes,
        )
        if finished:
            event_append(
                owner_id=session_id,
                type="status",
                data={
                    "status": session_status,
                    "commandId": command_id,
                    "outcome": status,
                    "summary": summary,
                    "route": route,
                },
            )
        else:
            # Closed (or swept) while it ran: keep what was learnt, leave the status to whoever changed it.
            LiveSession.objects.filter(pk=session_id, status=LiveSession.Status.CLOSED).update(**changes)
    return bool(finished)
