"""GET /api/system/health: what the server knows about itself, and the problems a person should fix.

The report has two halves: the facts (machine, workers, auth, scenarios, model endpoints) and
`problems`, a list of `{"code", "message"}` that the overall `status` follows: `ok` when the list
is empty, `degraded` while any problem holds. Each problem comes from one check in PROBLEM_CHECKS:
a function that reads the facts and returns what is wrong. To watch for something new, write a
check and add it to the tuple; the status, the API and the Status page follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.disk import disk_nearly_full
from core.logging import logs_writable
from runs.selectors import local_machine_facts, machine_list
from runs.serializers import MachineSerializer


@dataclass(frozen=True)
class Problem:
    code: str  # stable, for scripts: "display_unreachable", "model_endpoint_down", …
    message: str  # one sentence for a person: what is wrong and what to do

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


# --- The checks ---------------------------------------------------------------------------------


def display_problems(facts: dict) -> list[Problem]:
    """No desktop to drive: neither this server's display nor any online worker's answers.

    A web tier without a display is normal in the scaled mode, as long as a worker has one.
    """
    if facts["machine"]["displayReachable"]:
        return []
    if any(w["online"] and w["displayReachable"] for w in facts["workers"]):
        return []
    why = (facts["machine"].get("reason") or "The display does not answer.").rstrip(".") + "."
    return [
        Problem(
            "display_unreachable",
            f"The desktop is not reachable, so runs and live commands cannot see or use the screen. {why}",
        )
    ]


PROVIDER_NAMES = {"api-key": "The OpenAI API", "codex-oauth": "The ChatGPT backend", "https-proxy": "The HTTPS proxy"}


def provider_problems(facts: dict) -> list[Problem]:
    """A model endpoint or the proxy that is configured but does not work."""
    return [
        Problem(
            "model_endpoint_down",
            f"{PROVIDER_NAMES.get(name, name)} does not work: {str(check.get('reason') or 'no answer').rstrip('.')}.",
        )
        for name, check in facts["proxy"].items()
        if check.get("status") == "down"
    ]


def scenario_problems(facts: dict) -> list[Problem]:
    errors = facts["scenarios"]["errors"]
    if not errors:
        return []
    files = ", ".join(e["file"] for e in errors)
    some = "A scenario file" if len(errors) == 1 else f"{len(errors)} scenario files"
    return [Problem("scenarios_broken", f"{some} did not load: {files}. The other scenarios work.")]


def worker_problems(facts: dict) -> list[Problem]:
    """Nothing can execute a run: no desktop worker heartbeats (dead, restarting, never started)."""
    if any(w["online"] for w in facts["workers"]):
        return []
    return [
        Problem(
            "worker_down",
            "No desktop worker is running, so runs wait queued and live commands cannot start. `serve` "
            "restarts its own worker by itself; otherwise start `python manage.py worker` on the desktop machine.",
        )
    ]


def disk_problems(facts: dict) -> list[Problem]:
    problem = disk_nearly_full()
    return [Problem("disk_nearly_full", problem)] if problem else []


def log_problems(facts: dict) -> list[Problem]:
    if logs_writable():
        return []
    return [
        Problem(
            "logs_not_writable",
            f"The log folder {settings.LOG_DIR} cannot be written, so nothing is logged to files. Check its "
            "permissions and free space.",
        )
    ]


PROBLEM_CHECKS: tuple[Callable[[dict], list[Problem]], ...] = (
    display_problems,
    worker_problems,
    provider_problems,
    scenario_problems,
    disk_problems,
    log_problems,
)


# --- The report ---------------------------------------------------------------------------------


def health_report() -> dict:
    from providers.selectors import auth_status, proxy_health
    from scenarios.catalog import catalog_summary

    facts = {
        "time": timezone.now().isoformat(),
        "machine": local_machine_facts(),
        "workers": MachineSerializer(machine_list(), many=True).data,
        "auth": auth_status()["providers"],
        "scenarios": catalog_summary(),
        "proxy": proxy_health(),
    }
    problems = [problem.as_dict() for check in PROBLEM_CHECKS for problem in check(facts)]
    return {"status": "degraded" if problems else "ok", "problems": problems, **facts}
