"""`python manage.py serve`: the whole server in one command (web + embedded desktop worker)."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from agent.platform import proctree
from config.management.commands.worker import ROOT_WARNING, is_root
from config.warmup import web_warm_up
from runs.worker_hooks import PARENT_PID_ENV

logger = logging.getLogger("deskhand.serve")

# How long the worker may take to stop what it executes and exit before it is killed; serve then
# exits well within 15 s of a SIGTERM.
STOP_TIMEOUT_S = 10
# After the worker stopped, how long open event streams get to send the final status events.
STREAM_FLUSH_S = 1.0


class Command(BaseCommand):
    help = "Serve Deskhand on HOST:PORT with an embedded desktop worker; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=3333, help="Port to listen on (default 3333).")
        parser.add_argument("--no-worker", action="store_true", help="Web only (workers run elsewhere).")

    def handle(self, *args, host, port, no_worker, **options):
        _check_port_free(host, port)
        call_command("migrate", interactive=False, verbosity=0)
        if not _is_loopback(host):
            self.stderr.write(
                self.style.WARNING(
                    f"Listening on {host}: any machine that reaches this port can try the API. "
                    "Keep the token secret and add this host name to DESKHAND_ALLOWED_HOSTS."
                )
            )
        if is_root():
            self.stderr.write(self.style.WARNING(ROOT_WARNING))
        worker = None if no_worker else WorkerSupervisor(port).start()
        # While the worker starts (its own process): the first POST /api/runs then costs what the tenth does.
        web_warm_up()
        shown_host = f"[{host}]" if ":" in host else host
        token_place = settings.API_TOKEN_FILE or "the DESKHAND_API_TOKEN variable"
        # One line: where to go and where the token is. The rest is on the Status page and in the logs.
        self.stdout.write(
            self.style.SUCCESS(f"Deskhand is serving on http://{shown_host}:{port}/")
            + f" (API token in {token_place}; {'embedded worker' if worker else 'no worker'}; Ctrl-C stops)"
        )
        try:
            _run_daphne(host, port, before_stop=worker.stop if worker is not None else None)
        finally:
            if worker is not None:
                worker.stop()
            self.stdout.write("Deskhand stopped.")


class WorkerSupervisor:
    """The embedded worker, watched. When it dies, what it was executing is interrupted at once (its
    claims name a dead process), the machine shows offline (health reports the outage) and a new
    worker is started, after a pause that grows while it keeps dying."""

    POLL_S = 0.5
    # A worker that ran this long without dying resets the restart pause.
    STABLE_S = 60.0

    def __init__(self, port: int):
        self.port = port
        self.proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> WorkerSupervisor:
        self.proc = self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> subprocess.Popen:
        env = {
            **os.environ,
            "DESKHAND_PROCESS_KIND": "worker",
            "DESKHAND_SERVER_PORT": str(self.port),
            PARENT_PID_ENV: str(os.getpid()),
        }
        self.started = time.monotonic()
        # The worker stops when `serve` dies, however it dies (a `kill -9` must not leave a worker
        # driving the desktop with no server in front of it): the kernel tells it on Linux, and
        # elsewhere it watches DESKHAND_PARENT_PID (config/management/commands/worker.py).
        # A group of its own: Ctrl-C reaches only this process, which then stops the worker in order.
        return subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker", "--embedded"],
            env=env,
            preexec_fn=proctree.die_with_parent_preexec(),
            **proctree.own_group_options(),
        )

    def _watch(self) -> None:
        pause = 1.0
        while not self._stopping.wait(self.POLL_S):
            assert self.proc is not None  # started before the watch
            code = self.proc.poll()
            if code is None:
                if time.monotonic() - self.started > self.STABLE_S:
                    pause = 1.0
                continue
            how = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
            logger.error("The embedded worker %s; starting a new one in %.0f s", how, pause)
            _recover_dead_worker(
                f"The worker executing this died ({how}). Nothing was re-run automatically; retry it if you "
                "still want it."
            )
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, 30.0)
            self.proc = self._spawn()

    def stop(self) -> None:
        """Celery's warm shutdown (Ctrl-C; SIGTERM would mean "the server is gone"): the worker stops
        what it executes (interrupted, "server shutting down") and exits."""
        self._stopping.set()
        if self.proc is None or self.proc.poll() is not None:
            return
        proctree.request_stop(self.proc)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _recover_dead_worker(reason: str) -> None:
    from django.db import connection
    from django.utils import timezone

    from runs.models import Machine
    from runs.services import machine_offline
    from runs.supervision import machine_recover

    try:
        machine = Machine.objects.filter(name=settings.MACHINE_NAME).first()
        if machine is not None:
            machine_offline(machine_id=machine.pk)
            machine_recover(machine_id=machine.pk, before=timezone.now(), reason=reason)
    except Exception:  # the sweep of the web process gets there when the heartbeats go stale
        logger.exception("Could not recover what the dead worker held")
    finally:
        connection.close()


def _run_daphne(host: str, port: int, *, before_stop=None) -> None:
    """Serve until SIGTERM or Ctrl-C. `before_stop` (stopping the worker) runs while the server still
    serves, so the streams of the executions it interrupts get their final status before they close.
    A second signal stops at once."""
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor  # twisted's global reactor has no useful static type

    from config.asgi import application

    stopping = threading.Event()

    def stop_in_order() -> None:
        if before_stop is not None:
            before_stop()
            time.sleep(STREAM_FLUSH_S)
        reactor.callFromThread(reactor.stop)

    def on_signal(signum, frame) -> None:
        if stopping.is_set():
            reactor.callFromThread(reactor.stop)
            return
        stopping.set()
        threading.Thread(target=stop_in_order, name="serve-stop", daemon=True).start()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    Server(
        application=application,
        endpoints=build_endpoint_description_strings(host=host, port=port),
        signal_handlers=False,  # ours, above: the worker stops first
        http_timeout=None,  # event streams stay open as long as the client wants
        application_close_timeout=2,
    ).run()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if sys.platform != "win32":
            # POSIX: ignore a closed connection's TIME_WAIT. On Windows the same option would let the
            # probe bind a port another server is listening on, so it is left off there.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {host}:{port}: {exc.strerror}. Is Deskhand already running?"
            ) from None
