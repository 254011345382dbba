"""The Celery app. Tasks take ids and call one service (see runs/tasks.py, sessions/tasks.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("deskhand")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # A run clicks and types: it is not idempotent, so it is acknowledged before it starts and
    # never redelivered (a killed worker leaves it to the sweeper, which marks it interrupted).
    task_acks_late=False,
    task_reject_on_worker_lost=False,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_default_queue="deskhand",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_redirect_stdouts=False,
)
app.autodiscover_tasks()
