"""`python manage.py serve`: the whole server in one command (web + embedded desktop worker)."""

import ipaddress
import os
import socket
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from agent.platform import proctree


class Command(BaseCommand):
    help = "Serve Deskhand on HOST:PORT with an embedded desktop worker; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=3333)
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
        worker = None if no_worker else self._start_worker(port)
        shown_host = f"[{host}]" if ":" in host else host
        token_place = settings.API_TOKEN_FILE or "the DESKHAND_API_TOKEN variable"
        self.stdout.write(
            self.style.SUCCESS(f"Deskhand is serving on http://{shown_host}:{port}/")
            + f"\n  API token: in {token_place}"
            + f"\n  API docs:  http://{shown_host}:{port}/api/docs/"
            + f"\n  Worker:    {'embedded' if worker else 'none (--no-worker)'}"
            + "\n  Stop with Ctrl-C.",
        )
        try:
            _run_daphne(host, port)
        finally:
            if worker is not None:
                _stop(worker)
            self.stdout.write("Deskhand stopped.")

    def _start_worker(self, port: int) -> subprocess.Popen:
        # The worker stops when `serve` dies, however it dies (a `kill -9` must not leave a worker
        # driving the desktop with no server in front of it): the kernel tells it on Linux, and
        # elsewhere it watches DESKHAND_PARENT_PID (config/management/commands/worker.py).
        env = {
            **os.environ,
            "DESKHAND_PROCESS_KIND": "worker",
            "DESKHAND_SERVER_PORT": str(port),
            "DESKHAND_PARENT_PID": str(os.getpid()),
        }
        # A group of its own: Ctrl-C reaches only this process, which then stops the worker in order.
        return subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker"],
            env=env,
            preexec_fn=proctree.die_with_parent_preexec(),
            **proctree.own_group_options(),
        )


def _run_daphne(host: str, port: int) -> None:
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server

    from config.asgi import application

    Server(
        application=application,
        endpoints=build_endpoint_description_strings(host=host, port=port),
        signal_handlers=True,
        http_timeout=None,  # event streams stay open as long as the client wants
        application_close_timeout=10,
    ).run()


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    proctree.request_stop(worker)  # Celery's warm shutdown: the current task gets to end
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


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
