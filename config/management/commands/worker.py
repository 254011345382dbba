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

    def handle(self, *args, concurrency, loglevel, **options):
        from config.celery import app

        proctree.on_stop_request()  # Windows: serve's CTRL_BREAK_EVENT becomes Celery's warm shutdown
        parent = os.environ.get("DESKHAND_PARENT_PID")
        if parent and proctree.die_with_parent_preexec() is None:
            # No parent-death signal outside Linux: stop driving once `serve` is gone.
            proctree.watch_parent(int(parent), on_gone=worker_hooks.server_gone)
        self.stdout.write(
            f"Deskhand worker for machine {settings.MACHINE_NAME!r}, broker {_scheme(settings.CELERY_BROKER_URL)}"
        )
        app.worker_main(
            [
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


def worker_queues() -> list[str]:
    """This machine's own queue: the dispatcher sends here only what this desktop must execute."""
    from runs.dispatch import machine_queue

    return [machine_queue(settings.MACHINE_NAME)]


def _scheme(url: str) -> str:
    return url.split("://", 1)[0]
