"""Thin Celery tasks: ids in, one service call.

The run task keeps Celery's early acknowledgement and is never retried: a run clicks and types,
so a second copy would repeat actions. The service's pick-up makes a duplicate message a no-op,
and the sweeper deals with runs whose worker died.
"""

from celery import shared_task


@shared_task(name="runs.execute", acks_late=False, ignore_result=True)
def run_execute_task(run_id: str) -> None:
    from celery import current_task

    from runs.services import run_execute

    run_execute(run_id=run_id, worker=getattr(current_task.request, "hostname", "") or "")
