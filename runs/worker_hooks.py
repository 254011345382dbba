"""What a desktop worker does besides executing tasks: register its machine, sweep at start-up,
and keep sweeping and heartbeating in a background thread while it lives.

Connected to Celery's worker signals in RunsConfig.ready(); in a web process they never fire.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection

logger = logging.getLogger("deskhand.runs")

# Sweeps of the apps built on runs (live sessions), called beside `runs_sweep` on every pass:
# runs cannot import them (they sit above it), so they register here from their AppConfig.ready().
extra_sweeps: list = []

_stop = threading.Event()
_thread: threading.Thread | None = None
# When this process set up: anything of this machine picked up earlier belongs to a dead process.
_process_started = None


def sweep_interval() -> float:
    """How often the worker sweeps: often enough that a dead run is marked within about two stale periods."""
    return settings.SWEEP_SECONDS or max(1.0, min(30.0, settings.HEARTBEAT_STALE_SECONDS / 2))


def sweep_once() -> None:
    """Mark every execution whose heartbeat went stale `interrupted`: runs, then the registered kinds."""
    from runs.services import runs_sweep

    runs_sweep()
    for sweep in extra_sweeps:
        sweep()


def on_worker_ready(sender=None, **kwargs) -> None:
    from runs.services import machine_register, runs_sweep_machine_start

    global _thread
    try:
        machine = machine_register()
        result = runs_sweep_machine_start(machine_id=machine.pk, started_at=_process_started)
        if result["interrupted"]:
            logger.warning(
                "Worker start: marked %d unfinished run(s) of %s interrupted", len(result["interrupted"]), machine.name
            )
        sweep_once()
    except Exception:
        logger.exception("Worker start-up sweep failed")
    finally:
        connection.close()
    _stop.clear()
    _thread = threading.Thread(target=_loop, name="deskhand-sweeper", daemon=True)
    _thread.start()


def on_worker_shutdown(sender=None, **kwargs) -> None:
    _stop.set()


def _loop() -> None:
    from runs.services import machine_heartbeat, machine_register

    machine_id = None
    while not _stop.wait(sweep_interval()):
        try:
            if machine_id is None:
                machine_id = machine_register().pk
            machine_heartbeat(machine_id=machine_id)
            sweep_once()
        except Exception:
            logger.warning("Periodic sweep failed", exc_info=True)
            machine_id = None
        finally:
            connection.close()


def connect() -> None:
    from celery.signals import worker_ready, worker_shutdown
    from django.utils import timezone

    global _process_started
    _process_started = timezone.now()
    worker_ready.connect(on_worker_ready, weak=False, dispatch_uid="deskhand-runs-worker-ready")
    worker_shutdown.connect(on_worker_shutdown, weak=False, dispatch_uid="deskhand-runs-worker-shutdown")
