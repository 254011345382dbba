"""A fleet of desktops behind one server, through the HTTP API only: a web tier with no display
(`serve --no-worker`, no DISPLAY) and two workers, `alpha` and `beta`, on two Xvfb desktops of
different sizes, sharing PostgreSQL and Redis. Which desktop did something is told by its screen
size: alpha is 1280x800, beta 1024x768.

It needs Redis (the channel layer carries the screens of the machines to the web tier), so it runs
with `-m scaled` (make test's PostgreSQL + Redis phase), not in the default run.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import httpx
import pytest
from django.conf import settings

from tests.fixtures.deployment import TERMINAL, Deployment
from tests.fixtures.desktop import _require_tools, start_desktop

pytestmark = [pytest.mark.desktop, pytest.mark.scaled, pytest.mark.needs_redis, pytest.mark.timeout(300)]

SIZES = {"alpha": (1280, 800), "beta": (1024, 768)}
SCENARIO = """
id: look
title: Look at the screen
route: desktop
instruction: Take a screenshot, then say done.
limits: {maxTurns: 5, timeoutSeconds: 120}
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, fake_model):
    assert settings.REDIS_URL, (
        "the fleet test needs Redis: run it with DESKHAND_REDIS_URL set (make test's scaled phase)"
    )
    _require_tools()
    root = tmp_path_factory.mktemp("fleet")
    (root / "scenarios").mkdir()
    (root / "scenarios" / "look.yaml").write_text(SCENARIO)
    (root / "data").mkdir()
    desktops = {name: start_desktop(*size) for name, size in SIZES.items()}
    deployment = Deployment(
        root / "data", fake_model, extra_env={"DESKHAND_SCENARIOS_DIR": str(root / "scenarios")}
    ).serve(no_worker=True, headless=True)
    try:
        for name, desktop in desktops.items():
            deployment.worker(name, display_env=desktop.env)
        deployment.desktops = desktops
        yield deployment
    finally:
        deployment.stop()
        for desktop in desktops.values():
            desktop.stop()


def ensure_online(fleet: Deployment) -> None:
    """A test that stopped a worker may have failed before starting it again."""
    for name, desktop in fleet.desktops.items():
        if fleet.workers[name].poll() is not None:
            fleet.worker(name, display_env=desktop.env)


def screenshot_sizes(record: dict) -> set[tuple[int, int]]:
    return {(e["data"]["width"], e["data"]["height"]) for e in record["events"] if e["type"] == "screenshot"}


def first_frame(fleet: Deployment, path: str) -> dict:
    """The first `frame` of a screen stream, decoded."""
    timeout = httpx.Timeout(10, read=30)
    with fleet.http.stream("GET", path, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                assert event == "frame", line[:300]
                return json.loads(line[6:])
    raise AssertionError(f"{path} ended without a frame")


def look(model, *, delay_s: float = 0) -> None:
    """One run's or command's script: a screenshot of its desktop, then done."""
    model.add_turn(model.computer_call({"type": "screenshot"}), delay_s=delay_s)
    model.add_turn(model.message("done"))


def test_both_machines_are_listed_online_with_their_screens(fleet):
    ensure_online(fleet)
    machines = fleet.machines()
    for name, (width, height) in SIZES.items():
        machine = machines[name]
        assert machine["online"] and machine["status"] == "idle" and machine["displayReachable"], machine
        assert machine["screen"] == {"width": width, "height": height}
        assert machine["heartbeatAgeSeconds"] < 6


def test_a_run_asked_for_on_beta_sees_beta_s_screen(fleet, model):
    ensure_online(fleet)
    look(model)
    run = fleet.post("/api/runs", {"scenarioId": "look", "machine": "beta"})
    assert run["requestedMachine"] == "beta"
    record = fleet.wait_for_run(run["id"], TERMINAL, timeout=60)
    assert record["status"] == "succeeded" and record["machine"] == "beta", record
    assert screenshot_sizes(record) == {SIZES["beta"]}


def test_a_session_bound_to_alpha_commands_observes_and_streams_alpha(fleet, model):
    ensure_online(fleet)
    session = fleet.post("/api/live-sessions", {"machine": "alpha"}, expect=201)
    assert session["machine"] == "alpha"
    sid = session["id"]

    frame = first_frame(fleet, f"/api/live-sessions/{sid}/screen-stream")
    assert (frame["width"], frame["height"]) == SIZES["alpha"] and frame["image"]

    observed = fleet.post(f"/api/live-sessions/{sid}/observe", expect=200)
    assert observed["machine"]["name"] == "alpha"
    assert (observed["screenshot"]["width"], observed["screenshot"]["height"]) == SIZES["alpha"]
    assert isinstance(observed["windows"], list)

    look(model)
    fleet.post(f"/api/live-sessions/{sid}/commands", {"instruction": "Take a screenshot."})
    done = fleet.wait_until(
        lambda: (s := fleet.session(sid))["status"] == "idle" and s["command"]["status"] != "queued" and s,
        timeout=60,
        what="the command to finish",
    )
    assert done["command"]["status"] == "succeeded" and done["machine"] == "alpha", done["command"]
    assert screenshot_sizes(done) == {SIZES["alpha"]}  # the observation's and the command's
    fleet.post(f"/api/live-sessions/{sid}/close", expect=200)


def test_two_runs_without_a_machine_execute_at_once_on_the_two_machines(fleet, model):
    ensure_online(fleet)
    # Each run's answer takes 3 s: the two are on their desktops at the same time or not at all.
    model.add_turn(model.message("done"), delay_s=3)
    model.add_turn(model.message("done"), delay_s=3)
    ids = [fleet.post("/api/runs", {"scenarioId": "look"})["id"] for _ in range(2)]
    records = [fleet.wait_for_run(run_id, TERMINAL, timeout=60) for run_id in ids]
    assert [r["status"] for r in records] == ["succeeded", "succeeded"], records
    assert {r["machine"] for r in records} == {"alpha", "beta"}
    started = [datetime.fromisoformat(r["startedAt"]) for r in records]
    finished = [datetime.fromisoformat(r["finishedAt"]) for r in records]
    assert max(started) < min(finished), (started, finished)  # their running periods overlap


def test_a_run_for_a_stopped_machine_waits_queued_and_runs_when_it_returns(fleet, model):
    ensure_online(fleet)
    fleet.stop_worker("alpha")
    fleet.wait_until(lambda: not fleet.machines()["alpha"]["online"], timeout=10, what="alpha to go offline")
    look(model)
    run_id = fleet.post("/api/runs", {"scenarioId": "look", "machine": "alpha"})["id"]

    waiting = fleet.wait_until(
        lambda: (r := fleet.run(run_id))["statusReason"] and r, timeout=10, what="the run to say why it waits"
    )
    assert waiting["status"] == "queued" and waiting["machine"] is None
    assert "alpha" in waiting["statusReason"] and "offline" in waiting["statusReason"], waiting["statusReason"]
    alpha = fleet.machines()["alpha"]
    assert alpha["status"] == "offline" and alpha["queuedRunIds"] == [run_id]
    time.sleep(3)  # beta is free meanwhile, and must not take it
    assert fleet.run(run_id)["status"] == "queued"

    fleet.worker("alpha", display_env=fleet.desktops["alpha"].env)
    record = fleet.wait_for_run(run_id, TERMINAL, timeout=60)
    assert record["status"] == "succeeded" and record["machine"] == "alpha", record
    assert screenshot_sizes(record) == {SIZES["alpha"]}


def test_killing_beta_s_worker_shows_beta_offline_and_its_run_interrupted(fleet, model):
    ensure_online(fleet)
    model.add_turn(model.computer_call({"type": "screenshot"}), delay_s=60)  # busy on beta when killed
    run_id = fleet.post("/api/runs", {"scenarioId": "look", "machine": "beta"})["id"]
    fleet.wait_for_run(run_id, {"running"}, timeout=30)
    fleet.wait_until(lambda: model.model_requests(), timeout=30, what="beta's model request")
    assert fleet.machines()["beta"]["current"] == {"kind": "run", "id": run_id}

    fleet.kill_worker("beta")
    killed = time.monotonic()
    fleet.wait_until(lambda: not fleet.machines()["beta"]["online"], timeout=30, what="beta to show offline")
    # Within the heartbeat limit (6 s here), give or take a sweep.
    assert time.monotonic() - killed < 2 * int(fleet.env["DESKHAND_HEARTBEAT_STALE_SECONDS"]) + 5
    record = fleet.wait_for_run(run_id, TERMINAL, timeout=30)
    assert record["status"] == "interrupted" and record["machine"] == "beta", record
    assert fleet.machines()["beta"]["status"] == "offline"
    fleet.worker("beta", display_env=fleet.desktops["beta"].env)  # the fleet is whole again
