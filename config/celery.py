"""The Celery app. Tasks take ids and call one service (see runs/tasks.py, sessions/tasks.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("deskhand")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # The database, not the broker, says what is queued (runs/dispatch.py): every task message is
    # sent to the queue of the machine that must execute it, and sent again when no worker picked it
    # up in time. The settings below only make the broker lose less; the pick-up claim (a
    # conditional UPDATE) is what makes a duplicate message harmless.
    # - Late acknowledgement: a message is acknowledged when its task is done, so one a worker had
    #   taken when it died goes back to the queue (Redis: after the visibility timeout).
    task_acks_late=True,
    # - One message at a time per worker thread: a dying worker strands as few as possible.
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_default_queue="deskhand",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_redirect_stdouts=False,
)
app.autodiscover_tasks()
