"""Celery tasks of live sessions: ids in, one service call, nothing else."""

from celery import shared_task


@shared_task(name="sessions.command_execute", ignore_result=True)
def session_command_execute_task(session_id: str, command_id: str) -> None:
    from sessions.services import session_command_execute

    session_command_execute(session_id=session_id, command_id=command_id)
