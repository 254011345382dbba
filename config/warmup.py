"""The web process's warm-up: what the first `POST /api/runs` would otherwise pay, paid before
`serve` listens.

Measured in-process (`POST /api/runs` with a machine online): the first one took 45 ms (SQLite,
file broker) and ~150 ms (PostgreSQL, Redis) against 15 and 30 ms for the next ones. The
difference is first-use work: the Celery app's finalisation (it imports every tasks module), the
broker transport and the producer pool, the URL resolver's patterns, the scenario catalog. A
worker's own warm-up is runs.worker_hooks.warm_up.
"""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("deskhand.serve")


def web_warm_up() -> None:
    """Never fatal: a part that fails (the broker is down, say) is logged and the first request pays for it."""
    from agent.warmup import warm_parts

    started = time.perf_counter()
    report = warm_parts(
        [("urls", _urls), ("scenarios", _scenarios), ("task queue", _task_queue)], payer="the first request"
    )
    logger.debug("Web warmed up in %.2f s: %s", time.perf_counter() - started, report)


def _urls() -> None:
    from django.urls import get_resolver, resolve

    get_resolver().reverse_dict  # noqa: B018 - builds the resolver's lookup tables
    resolve("/api/runs")


def _scenarios() -> None:
    from scenarios.catalog import load_catalog

    load_catalog()


def _task_queue() -> None:
    """The task registry (finalising the app imports every tasks module) and a producer from the
    pool: the transport's modules and its client. It does not connect: a broker that is down must
    not hold `serve` up."""
    from config.celery import app
    from runs.tasks import run_execute_task

    run_execute_task.name  # noqa: B018 - a proxy until the app is finalised
    with app.producer_or_acquire():
        pass
