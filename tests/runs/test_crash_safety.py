"""Killing the processes of a real deployment in the middle of a run, with more runs queued behind
it: nothing is lost, nothing stays stuck, nothing drives the desktop unsupervised, every stream
ends with the final status. Each test runs `serve` (or `serve --no-worker` and a worker) on a
private data dir and database, through HTTP only, against the fake model server."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import datetime

import httpx
import psutil
import pytest

from tests.fixtures.deployment import TERMINAL, Deployment
from tests.fixtures.waiting import process_exited, wait_until

pytestmark = [pytest.mark.desktop, pytest.mark.scaled, pytest.mark.timeout(240)]

# A desktop scenario whose first model turn asks for a long wait: a run that is busy on the desktop.
SCENARIO = """
id: long-step
title: A step that takes a while
route: desktop
instruction: Wait for the screen, then say done.
limits: {maxTurns: 5, timeoutSeconds: 120}
"""
# No model request and no input event may happen this long after the server is gone.
UNSUPERVISED_LIMIT_S = 5.0
# Nothing stays `running` or `queued` without progress this long after a fault.
STUCK_LIMIT_S = 15.0


@pytest.fixture
def deployment(tmp_path, model, desktop):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "long-step.yaml").write_text(SCENARIO)
    deployed = Deployment(
        tmp_path / "data", model, desktop_env=desktop.env, extra_env={"DESKHAND_SCENARIOS_DIR": str(scenarios)}
    )
    deployed.data_dir.mkdir()
    yield deployed
    deployed.stop()


def start_three_runs(deployment: Deployment, model) -> list[str]:
    """The first run waits 30 s on the desktop; two more wait behind it; each then says done."""
    model.add_turn(model.computer_call({"type": "wait", "seconds": 30}))
    ids = [
        deployment.post("/api/runs", {"scenarioId": "long-step", "machine": deployment.machine_name})["id"]
        for _ in range(3)
    ]
    deployment.wait_until(
        lambda: any(e["type"] == "computer_action" for e in deployment.run(ids[0])["events"]),
        timeout=30,
        what="the first run to act on the desktop",
    )
    for n in (2, 3):
        model.add_turn(model.message(f"run {n} done"))
    return ids


def wait_for_exit(proc: psutil.Process, deployment: Deployment, *, what: str) -> None:
    """Wait STUCK_LIMIT_S for `proc` (not our child) to exit; else fail with its threads' stacks
    (Celery prints them on SIGUSR1) and the log's tail."""
    try:
        wait_until(lambda: process_exited(proc.pid), STUCK_LIMIT_S, what=what)
    except AssertionError:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1)
        pytest.fail(f"{what} still runs after {STUCK_LIMIT_S:g} s:\n{deployment.log('serve')[-8000:]}")


class StreamReader(threading.Thread):
    """Reads a run's SSE stream to its end, in the background."""

    def __init__(self, deployment: Deployment, run_id: str):
        super().__init__(daemon=True)
        self.url = f"{deployment.url}/api/runs/{run_id}/events"
        self.headers = {"Authorization": f"Bearer {deployment.token}"}
        self.events: list[dict] = []
        self.ended = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers=self.headers, timeout=httpx.Timeout(5, read=120)) as response:
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        self.events.append(json.loads(line[5:]))
        except httpx.HTTPError:
            pass  # the server went away: what was read is the answer
        self.ended.set()

    @property
    def last_status(self) -> str | None:
        statuses = [e["data"]["status"] for e in self.events if e["type"] == "status"]
        return statuses[-1] if statuses else None


def assert_each_queued_run_executed_once(deployment: Deployment, model, ids: list[str]) -> None:
    for n, run_id in enumerate(ids[1:], start=2):
        record = deployment.wait_for_run(run_id, TERMINAL, timeout=60)
        assert record["status"] == "succeeded" and record["summary"] == f"run {n} done", record
    # One model request per run: the interrupted one's, and one each for the two that ran after it.
    assert len(model.model_requests()) == 3, [r.body.get("input", [])[-1:] for r in model.model_requests()]


def test_a_killed_embedded_worker_is_noticed_replaced_and_loses_nothing(deployment, model):
    deployment.serve()
    ids = start_three_runs(deployment, model)
    stream = StreamReader(deployment, ids[0])

    os.kill(deployment.embedded_worker().pid, signal.SIGKILL)
    killed = time.monotonic()
    first = deployment.wait_for_run(ids[0], TERMINAL, timeout=STUCK_LIMIT_S)
    assert first["status"] == "interrupted" and "died" in first["statusReason"], first
    # Health tells the truth while the worker is down.
    health = deployment.wait_until(
        lambda: (h := deployment.get("/api/system/health"))["status"] != "ok" and h,
        timeout=STUCK_LIMIT_S,
        what="health to report the outage",
    )
    assert "worker_down" in [p["code"] for p in health["problems"]], health
    assert stream.ended.wait(10) and stream.last_status == "interrupted"

    assert_each_queued_run_executed_once(deployment, model, ids)
    assert time.monotonic() - killed < 60
    assert deployment.get("/api/system/health")["status"] == "ok"


def unsupervised_activity(
    deployment: Deployment, model, ids: list[str], server_gone: float, server_back: float
) -> list:
    """Model requests and input events later than UNSUPERVISED_LIMIT_S after the server was gone and
    before it was started again (the new server's worker goes on with the queued runs at once)."""

    def unsupervised(at: float) -> bool:
        return server_gone + UNSUPERVISED_LIMIT_S < at < server_back

    late_requests = [r for r in model.requests if unsupervised(r.arrived_at)]
    late_actions = [
        event
        for run_id in ids
        for event in deployment.run(run_id)["events"]
        if event["type"] == "computer_action" and unsupervised(datetime.fromisoformat(event["createdAt"]).timestamp())
    ]
    return late_requests + late_actions


def test_a_killed_serve_leaves_no_worker_driving_the_desktop(deployment, model):
    deployment.serve()
    ids = start_three_runs(deployment, model)
    worker = deployment.embedded_worker()

    deployment.serve_proc.kill()  # SIGKILL: serve gets no chance to stop its worker itself
    gone = time.time()
    deployment.serve_proc.wait()
    wait_for_exit(worker, deployment, what="the embedded worker after its server was killed")
    time.sleep(UNSUPERVISED_LIMIT_S)  # long enough for any unsupervised work to show up below

    back = time.time()
    deployment.serve()  # back: the queued runs go on, the interrupted one says why
    first = deployment.wait_for_run(ids[0], TERMINAL, timeout=STUCK_LIMIT_S)
    assert first["status"] == "interrupted" and "server process is gone" in first["statusReason"], first
    assert unsupervised_activity(deployment, model, ids, gone, back) == []
    assert_each_queued_run_executed_once(deployment, model, ids)


def test_sigterm_stops_serve_within_15_seconds_and_interrupts_the_run(deployment, model):
    deployment.serve()
    ids = start_three_runs(deployment, model)
    stream = StreamReader(deployment, ids[0])

    asked = time.monotonic()
    deployment.serve_proc.send_signal(signal.SIGTERM)
    deployment.serve_proc.wait(timeout=30)
    assert time.monotonic() - asked < 15.0
    assert stream.ended.wait(10) and stream.last_status == "interrupted"

    deployment.serve()
    first = deployment.run(ids[0])
    assert first["status"] == "interrupted" and "shutting down" in first["statusReason"], first
    assert_each_queued_run_executed_once(deployment, model, ids)


def test_a_killed_worker_of_a_scaled_deployment_is_swept_and_its_queue_goes_on(deployment, model, desktop):
    deployment.serve(no_worker=True)
    worker = deployment.worker(deployment.machine_name, display_env=desktop.env)
    ids = start_three_runs(deployment, model)
    stream = StreamReader(deployment, ids[0])

    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    # No worker is alive: the web process's own sweep ends the run once its heartbeat is stale.
    first = deployment.wait_for_run(ids[0], TERMINAL, timeout=STUCK_LIMIT_S)
    assert first["status"] == "interrupted", first
    assert stream.ended.wait(10) and stream.last_status == "interrupted"
    assert [deployment.run(i)["status"] for i in ids[1:]] == ["queued", "queued"]

    deployment.worker(deployment.machine_name, display_env=desktop.env)
    assert_each_queued_run_executed_once(deployment, model, ids)
