"""`python manage.py serve`: the whole server in one command (web + embedded desktop worker)."""

import ipaddress
import os
import signal
import socket
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from config.management.commands.worker import ROOT_WARNING, is_root


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
        worker = None if no_worker else self._start_worker(port)
        shown_host = f"[{host}]" if ":" in host else host
        token_place = settings.API_TOKEN_FILE or "the DESKHAND_API_TOKEN variable"
        # One line: where to go and where the token is. The rest is on the Status page and in the logs.
        self.stdout.write(
            self.style.SUCCESS(f"Deskhand is serving on http://{shown_host}:{port}/")
            + f" (API token in {token_place}; {'embedded worker' if worker else 'no worker'}; Ctrl-C stops)"
        )
        try:
            _run_daphne(host, port)
        finally:
            if worker is not None:
                _stop(worker)
            self.stdout.write("Deskhand stopped.")

    def _start_worker(self, port: int) -> subprocess.Popen:
        env = {**os.environ, "DESKHAND_PROCESS_KIND": "worker", "DESKHAND_SERVER_PORT": str(port)}
        # Its own session: Ctrl-C reaches only this process, which then stops the worker in order.
        return subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker", "--embedded"],
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )


def _die_with_parent() -> None:
    """In the worker, before it starts: get SIGTERM when `serve` dies, however it dies.

    Otherwise a `kill -9` of serve leaves a worker driving the desktop with no server in front of it.
    """
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


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
    worker.send_signal(signal.SIGTERM)  # Celery's warm shutdown: the current task gets to end
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
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {host}:{port}: {exc.strerror}. Is Deskhand already running?"
            ) from None
