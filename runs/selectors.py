"""Reads about runs and the machines that execute them."""

import socket

import psutil
from django.conf import settings

from agent.platform import capture
from agent.platform.system import describe
from runs.models import Machine


def display_facts() -> dict:
    """Whether this process can see a desktop, and its size. Cheap: one connection to the display."""
    problem = capture.display_problem()
    if problem:
        return {"displayReachable": False, "screen": None, "reason": problem}
    try:
        import mss

        with mss.MSS() as grabber:
            monitor = grabber.monitors[0]
        return {
            "displayReachable": True,
            "screen": {"width": monitor["width"], "height": monitor["height"]},
            "reason": "",
        }
    except Exception as exc:  # noqa: BLE001 - any failure means "no desktop here"
        return {"displayReachable": False, "screen": None, "reason": f"cannot open the display: {exc}"[:200]}


def local_machine_facts() -> dict:
    memory = psutil.virtual_memory()
    return {
        "name": settings.MACHINE_NAME,
        "hostname": socket.gethostname(),
        "platform": describe().name,
        **display_facts(),
        "cpuPercent": psutil.cpu_percent(interval=None),
        "cpuCount": psutil.cpu_count(),
        "memory": {"totalBytes": memory.total, "availableBytes": memory.available, "percent": memory.percent},
    }


def machine_list() -> list[Machine]:
    return list(Machine.objects.order_by("name"))


def run_get(*, run_id: str):
    from runs.models import Run

    return Run.objects.select_related("machine", "retry_of").filter(pk=run_id).first()


def run_list(*, status: str | None = None, limit: int = 50, offset: int = 0):
    """Newest first; returns (page, total)."""
    from runs.models import Run

    queryset = Run.objects.select_related("machine").order_by("-created_at", "-pk")
    if status:
        queryset = queryset.filter(status=status)
    return list(queryset[offset : offset + limit]), queryset.count()


def run_retry_ids(*, run_id: str) -> list[str]:
    from runs.models import Run

    return list(Run.objects.filter(retry_of_id=run_id).order_by("created_at").values_list("pk", flat=True))
