"""Reads about runs and the machines that execute them."""

import socket

import psutil
from django.conf import settings
from django.db.models import Prefetch, Q

from agent.platform import capture
from agent.platform.system import describe
from runs.execution.claims import stale_before
from runs.models import Confirmation, Machine, Run


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


class MachineStatus:
    """What a machine is doing, as `GET /api/machines` says and filters it."""

    OFFLINE = "offline"  # no fresh worker heartbeat: nothing is handed to it
    IDLE = "idle"  # online, its desktop free
    BUSY = "busy"  # online, a run or a live command drives its desktop

    values = (OFFLINE, IDLE, BUSY)


def machine_status(machine: Machine) -> str:
    if machine.last_heartbeat is None or machine.last_heartbeat < stale_before():
        return MachineStatus.OFFLINE
    return MachineStatus.BUSY if machine.desktop_holder else MachineStatus.IDLE


def machine_list() -> list[Machine]:
    return machines_with_queues(list(Machine.objects.order_by("name")))


def machine_page(*, status: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Machine], int]:
    """Machines by name, with the runs waiting for each; returns (page, total)."""
    machines = Machine.objects.order_by("name", "pk")
    fresh = Q(last_heartbeat__gte=stale_before())
    if status == MachineStatus.OFFLINE:
        machines = machines.exclude(fresh)
    elif status == MachineStatus.IDLE:
        machines = machines.filter(fresh, desktop_holder="")
    elif status == MachineStatus.BUSY:
        machines = machines.filter(fresh).exclude(desktop_holder="")
    return machines_with_queues(list(machines[offset : offset + limit])), machines.count()


def machines_with_queues(machines: list[Machine]) -> list[Machine]:
    """Each machine with `queued_run_ids`: the queued runs that wait for it, oldest first (asked for
    by name and not handed out yet, or handed to it and not started yet). One query for them all."""
    by_pk = {machine.pk: machine for machine in machines}
    by_name = {machine.name: machine for machine in machines}
    for machine in machines:
        machine.queued_run_ids = []
    if not machines:
        return machines
    waiting = (
        Run.objects.filter(status=Run.Status.QUEUED)
        .filter(Q(machine_id__in=by_pk) | Q(machine__isnull=True, requested_machine__in=by_name))
        .order_by("created_at", "pk")
        .values_list("pk", "machine_id", "requested_machine")
    )
    for run_id, machine_id, requested in waiting:
        owner = by_pk.get(machine_id) if machine_id else by_name.get(requested)
        if owner is not None:
            owner.queued_run_ids.append(run_id)
    return machines


def _runs():
    """Runs with what their output shape reads: the machine and the ids of their retries (one query a page)."""
    retries = Prefetch("retries", queryset=Run.objects.only("id", "retry_of_id", "created_at"))
    return Run.objects.select_related("machine").prefetch_related(retries)


def run_get(*, run_id: str) -> Run | None:
    return _runs().filter(pk=run_id).first()


def run_list(*, status: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Run], int]:
    """Newest first; returns (page, total)."""
    queryset = _runs().order_by("-created_at", "-pk")
    if status:
        queryset = queryset.filter(status=status)
    return list(queryset[offset : offset + limit]), queryset.count()


def runs_by_id(*, run_ids: list[str]) -> dict[str, Run]:
    return {run.pk: run for run in _runs().filter(pk__in=run_ids)}


def confirmation_pending(*, owner_id: str) -> Confirmation | None:
    """The action a run or live session waits on a person for, if any."""
    return (
        Confirmation.objects.filter(owner_id=owner_id, status=Confirmation.Status.PENDING)
        .order_by("-created_at")
        .first()
    )


def cost_estimate(*, model: str, usage: dict) -> float | None:
    """What `usage` cost in US dollars at the model's configured price (DESKHAND_MODEL_PRICES, per
    million input and output tokens); None when no price is configured for the model."""
    price = settings.MODEL_PRICES.get(model)
    if price is None:
        return None
    per_million_in, per_million_out = price
    cost = int(usage.get("input_tokens") or 0) * per_million_in + int(usage.get("output_tokens") or 0) * per_million_out
    return round(cost / 1_000_000, 6)
