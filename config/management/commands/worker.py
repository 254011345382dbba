"""`python manage.py worker`: a Celery worker for this machine's desktop (runs and live commands)."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from agent.platform import proctree
from runs import worker_hooks


class Command(BaseCommand):
    help = "Start a desktop worker for this machine (the scaled mode runs one per desktop machine)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency", type=int, default=4, help="Tasks at once (one of them drives the desktop)."
        )
        parser.add_argument("--loglevel", default="WARNING")
        parser.add_argument(
            "--embedded", action="store_true", help="Started by `serve`, which says everything on the console."
        )

    def handle(self, *args, concurrency, loglevel, embedded, **options):
        import warnings

        from celery.exceptions import SecurityWarning

        from config.celery import app

        proctree.on_stop_request()  # Windows: serve's CTRL_BREAK_EVENT becomes Celery's warm shutdown
        parent = os.environ.get("DESKHAND_PARENT_PID")
        if parent and proctree.die_with_parent_preexec() is None:
            # No parent-death signal outside Linux: stop driving once `serve` is gone.
            proctree.watch_parent(int(parent), on_gone=worker_hooks.server_gone)
        if not embedded:
            self.stdout.write(
                f"Deskhand worker for machine {settings.MACHINE_NAME!r}, broker {_scheme(settings.CELERY_BROKER_URL)}"
            )
        # Celery's multi-line warning about root; `serve` and this command say it in one line instead.
        warnings.filterwarnings("ignore", category=SecurityWarning)
        if not embedded and is_root():
            self.stderr.write(ROOT_WARNING)
        app.worker_main(
            [
                # No banner: the console keeps the one line that says where things are.
                "--quiet",
                "worker",
                # Threads, not prefork: tasks spend their time waiting on the model and the screen,
                # and one process keeps one connection to the display.
                "--pool=threads",
                f"--concurrency={concurrency}",
                f"--hostname=deskhand@{settings.MACHINE_NAME}",
                f"--queues={','.join(worker_queues())}",
                f"--loglevel={loglevel}",
                "--without-gossip",
                "--without-mingle",
            ]
        )


ROOT_WARNING = "Running as root: the agent's shell commands and key presses run with root's rights too."


def is_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


def worker_queues() -> list[str]:
    """This machine's own queue: the dispatcher sends here only what this desktop must execute."""
    from runs.dispatch import machine_queue

    return [machine_queue(settings.MACHINE_NAME)]


def _scheme(url: str) -> str:
    return url.split("://", 1)[0]
