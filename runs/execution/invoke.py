"""`engine_invoke`: the one call into the engine, for a run and a live command alike."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import DatabaseError

from core.redact import redact
from runs.execution import process
from runs.execution.environment import (
    browser_config_build,
    computer_get,
    memory_build,
    missing_credentials,
    model_client_build,
    protected_paths,
    screen_config_build,
)
from runs.execution.heartbeat import Heartbeat
from runs.execution.owner import ExecutionOwner
from runs.execution.sink import DjangoSink

if TYPE_CHECKING:
    from agent.engine import Task

logger = logging.getLogger("deskhand.runs")

LOST_DATABASE_REASON = (
    "The worker lost its connection to the database, so it stopped driving the desktop. Retry the run "
    "once the database answers again."
)


@dataclass
class Invocation:
    """How an execution ended, for the owner to record."""

    status: str  # succeeded | failed | stopped | interrupted (the worker shut down or lost its server)
    summary: str  # the agent's answer, or what went wrong and what to do about it
    history: list | None  # the conversation to carry to the next command (None when it never started)
    route: str
    usage: dict  # this execution's tokens
    owner_usage: dict  # the owner's tokens, earlier executions included
    model_calls: int = 0  # requests this execution made to the model
    replay: dict | None = None  # how a replay went (agent.replay.ReplayReport), when it replayed one


def engine_invoke(*, owner: ExecutionOwner, task: Task, provider: str) -> Invocation:
    """Run `task` for `owner` with everything the engine needs from the settings, heartbeating
    while it runs.

    Never raises: a missing credential or a bug outside the engine ends as a failed invocation
    whose reason is also an `error` event (the engine reports its own failures the same way).
    """
    from agent.engine import run_task

    sink = DjangoSink(owner)
    status, summary, history = "failed", "", None
    model_calls, replay = 0, None
    problem = missing_credentials(provider=provider)
    if problem:
        summary = problem
        sink.emit("error", {"code": "auth_missing", "message": problem})
    else:
        client = model_client_build(provider=provider)
        try:
            with Heartbeat(sink):
                try:
                    outcome = run_task(
                        task,
                        sink=sink,
                        client=client,
                        computer=computer_get(),
                        memory=memory_build(owner_id=owner.pk),
                        protected_paths=protected_paths(),
                        browser=browser_config_build(),
                        screen=screen_config_build(),
                    )
                finally:
                    sink.close()  # every event of the execution is written before its outcome
            status, summary, history = outcome.status, outcome.summary, outcome.history
            model_calls, replay = outcome.model_calls, outcome.replay
        except DatabaseError as exc:
            # The server's database went away under the engine: it stopped at its next event.
            status, summary = "interrupted", LOST_DATABASE_REASON
            logger.warning("Execution of %s lost the database: %s", owner.pk, exc)
        except Exception as exc:  # an execution must always end with a status
            logger.exception("Execution of %s failed outside the engine", owner.pk)
            summary = redact(f"Internal error while executing: {type(exc).__name__}: {exc}.")
            try:
                sink.emit("error", {"code": "internal_error", "message": summary + " The worker log has details."})
            except Exception:  # the database itself may be what failed; the outcome still gets written
                logger.warning("Could not record the internal error of %s", owner.pk, exc_info=True)
        finally:
            client.close()
    shutdown = process.shutdown_reason()
    if shutdown and status == "stopped":
        status, summary = "interrupted", shutdown  # stopped by the worker's own shutdown, not by a person
    return Invocation(
        status=status,
        summary=summary,
        history=history,
        route=sink.route,
        usage=sink.usage,
        owner_usage=sink.owner_usage,
        model_calls=model_calls,
        replay=replay,
    )
