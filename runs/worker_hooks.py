"""A desktop worker's life besides executing tasks: warm up, register its machine and recover what
a dead predecessor held when it starts, heartbeat and sweep while it lives, and stop driving the
desktop at once when it is told to shut down or loses its server.

Connected to Celery's worker signals in RunsConfig.ready(); in a web process they never fire.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.db import connection
from django.utils import timezone

from runs.execution import process

logger = logging.getLogger("deskhand.runs")

# Set by `serve` for its embedded worker: the worker must not outlive it.
PARENT_PID_ENV = "DESKHAND_PARENT_PID"
SHUTDOWN_REASON = "The server is shutting down; the execution was interrupted. Retry it once the server is back."
SERVER_GONE_REASON = (
    "The server process is gone, so its worker stopped driving the desktop; the execution was interrupted."
)

_sweeper = None
_machine_id: int | None = None
# Marking the machine offline on the way out (see on_worker_shutting_down), and how long exit waits for it.
_going_offline: threading.Thread | None = None
OFFLINE_WAIT_S = 5.0
# When this process set up: anything of this machine picked up earlier belongs to a dead process.
_process_started = None


def on_worker_ready(sender=None, **kwargs) -> None:
    from runs.services import machine_register
    from runs.supervision import Sweeper, machine_recover

    global _sweeper, _machine_id
    # Before the machine is registered: until then no run is handed to this worker, and Celery's
    # consumer loop starts only once this returns, so the first run finds the process warm.
    warm_up()
    try:
        machine = machine_register()
        _machine_id = machine.pk
        machine_recover(
            machine_id=machine.pk,
            before=_process_started,
            reason="The worker executing this was restarted before it finished (it was killed or crashed). "
            "Nothing was re-run automatically; retry it if you still want it.",
        )
    except Exception:  # the periodic pass registers and recovers again
        logger.exception("Worker start-up failed to register the machine or recover its work")
    finally:
        connection.close()
    _sweeper = Sweeper(name="deskhand-worker-sweeper", every_tick=_heartbeat).start()


def warm_up() -> None:
    """Import and initialise what the first execution needs, so that it is as fast as the tenth.

    Without it, the first run after a start paid ~0.5 s more before its first model request, and
    ~0.3-0.45 s more on its first screenshot and first click, than any later run (1920x1080,
    `bench.server_step`): lazy imports (pyautogui alone ~330 ms), the X connections, the system
    description. It costs the worker's start about as much (0.6-1.1 s), once. Never fatal: a worker
    without a display (CLI runs only) or with a broken part starts all the same, and the first
    run pays for what could not be warmed.
    """
    started = time.perf_counter()
    try:
        from agent.warmup import warm_up as engine_warm_up

        report = engine_warm_up(extra=[("run machinery", _run_machinery)])
    except Exception:  # warm_up reports its own parts' failures; this is a bug in it
        logger.exception("Warming up the worker failed; the first run pays for what is left")
        return
    logger.info("Warmed up in %.2f s: %s", time.perf_counter() - started, report)


def _run_machinery() -> None:
    """What a run's execution imports on its way to the engine (memory, the sink's storage)."""
    import memory.provider  # noqa: F401
    import runs.execution.invoke  # noqa: F401


def _heartbeat() -> None:
    """The machine's heartbeat (what `online` means); and an embedded worker whose server is gone ends."""
    from runs.services import machine_heartbeat, machine_register

    global _machine_id
    if process.shutdown_reason():
        return  # marked offline on the way out: a beat now would hand this machine new runs
    if _machine_id is None or not machine_heartbeat(machine_id=_machine_id):
        _machine_id = machine_register().pk


def server_gone() -> None:
    """An embedded worker's `serve` is gone (macOS and Windows notice it by watching; Linux gets
    SIGTERM from the kernel): stop driving, and say why."""
    from agent.platform import proctree

    process.shutdown_begin(SERVER_GONE_REASON)
    proctree.stop_self()


def on_worker_shutting_down(sender=None, sig: str = "", **kwargs) -> None:
    """SIGTERM or SIGINT: take no new work, stop what runs now; Celery then waits for the tasks,
    which end within a second or two, and exits.

    `serve` stops its embedded worker as Ctrl-C does; an embedded worker that gets SIGTERM lost its
    server (the kernel's parent-death signal on Linux; `server_gone` elsewhere).

    Celery calls this inside its signal handler, on the main thread: the machine goes offline on a
    thread of its own. Written here, a second signal arriving while the first one's query waited
    re-entered the same database connection and hung the worker on its (not reentrant) lock."""
    global _going_offline
    embedded = bool(os.environ.get(PARENT_PID_ENV))
    process.shutdown_begin(SERVER_GONE_REASON if embedded and sig == "SIGTERM" else SHUTDOWN_REASON)
    if _machine_id is not None and _going_offline is None:
        _going_offline = threading.Thread(
            target=_go_offline, args=(_machine_id,), name="deskhand-machine-offline", daemon=True
        )
        _going_offline.start()


def _go_offline(machine_id: int) -> None:
    from runs.services import machine_offline

    try:
        machine_offline(machine_id=machine_id)
    except Exception:  # the heartbeat goes stale on its own
        logger.warning("Could not mark this machine offline", exc_info=True)
    finally:
        connection.close()


def on_worker_shutdown(sender=None, **kwargs) -> None:
    if _sweeper is not None:
        _sweeper.stop()
    if _going_offline is not None:
        _going_offline.join(timeout=OFFLINE_WAIT_S)


def connect() -> None:
    from celery.signals import worker_ready, worker_shutdown, worker_shutting_down

    global _process_started
    _process_started = timezone.now()
    worker_ready.connect(on_worker_ready, weak=False, dispatch_uid="deskhand-runs-worker-ready")
    worker_shutting_down.connect(on_worker_shutting_down, weak=False, dispatch_uid="deskhand-runs-worker-shutting-down")
    worker_shutdown.connect(on_worker_shutdown, weak=False, dispatch_uid="deskhand-runs-worker-shutdown")
