"""A disk that fills up while a run goes: the run ends `failed` with code `disk_full` while there is
still room to say so, health reports the problem, new work is refused with 507 naming the data dir,
and all of it clears once space is freed. A real small disk: a tmpfs mounted as the data dir
(root only; CI runs as root)."""

import shutil

import pytest

from tests.fixtures.deployment import TERMINAL, Deployment
from tests.fixtures.disk import small_disk
from tests.fixtures.waiting import wait_until
from tests.runs.test_crash_safety import SCENARIO

pytestmark = [pytest.mark.desktop, pytest.mark.timeout(180)]

RESERVE_MB = 8  # DESKHAND_MIN_FREE_MB for this deployment


@pytest.fixture
def small_data_dir(tmp_path):
    with small_disk(tmp_path / "data", "64m") as folder:
        yield folder


def fill_until_free(directory, free_bytes: int):
    filler = directory / "filler"
    with open(filler, "wb") as handle:
        while shutil.disk_usage(directory).free > free_bytes:
            handle.write(b"\0" * min(1 << 20, shutil.disk_usage(directory).free - free_bytes))
            handle.flush()
    return filler


def problem_codes(deployment) -> list[str]:
    return [p["code"] for p in deployment.get("/api/system/health")["problems"]]


def test_a_disk_that_fills_during_a_run_fails_it_disk_full_and_refuses_new_work(
    small_data_dir, tmp_path, model, desktop
):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "long-step.yaml").write_text(SCENARIO)
    deployment = Deployment(
        small_data_dir,
        model,
        desktop_env=desktop.env,
        extra_env={"DESKHAND_SCENARIOS_DIR": str(scenarios), "DESKHAND_MIN_FREE_MB": str(RESERVE_MB)},
    )
    try:
        deployment.serve()
        model.add_turn(model.computer_call({"type": "wait", "seconds": 30}))
        run = deployment.post("/api/runs", {"scenarioId": "long-step"})
        deployment.wait_until(
            lambda: any(e["type"] == "computer_action" for e in deployment.run(run["id"])["events"]),
            timeout=30,
            what="the run to act",
        )
        assert "disk_nearly_full" not in problem_codes(deployment)

        filler = fill_until_free(small_data_dir, (RESERVE_MB // 2) * 1_000_000)
        record = deployment.wait_for_run(run["id"], TERMINAL, timeout=30)
        assert record["status"] == "failed", record
        errors = [e["data"] for e in record["events"] if e["type"] == "error"]
        assert errors[-1]["code"] == "disk_full" and str(small_data_dir) in errors[-1]["message"]

        health = deployment.get("/api/system/health")
        assert health["status"] == "degraded" and "disk_nearly_full" in problem_codes(deployment)
        refused = deployment.http.post("/api/runs", json={"scenarioId": "long-step"})
        assert refused.status_code == 507 and refused.json()["code"] == "disk_full"
        assert refused.json()["details"]["dataDir"] == str(small_data_dir)
        refused = deployment.http.post("/api/live-sessions", json={})
        assert refused.status_code == 507

        filler.unlink()  # a person frees space: everything works again
        wait_until(lambda: "disk_nearly_full" not in problem_codes(deployment), 10, what="health to clear")
        assert deployment.http.post("/api/runs", json={"scenarioId": "long-step"}).status_code == 202
    finally:
        deployment.stop()
