"""Fleet throughput: runs per minute with 1 and with 2 worker machines, the same short scenario.

The scaled deployment of README "Scaling out", on this box: a web tier without a display
(`serve --no-worker`), PostgreSQL and Redis, and one `manage.py worker` per machine, each on an
Xvfb + openbox desktop of its own (1280x800), driven over HTTP only (tests/fixtures/deployment.py,
as tests/runs/test_fleet.py). The scenario is a desktop run of two model turns: a screenshot, then
"done". The fake model server answers each turn after MODEL_DELAY_S, a stand-in for the model's
time to think (the real service takes 5-30 s a turn): that wait, with the worker's own work on its
desktop, is what a second machine does in parallel.

Each round queues RUNS runs at once (no machine named: the dispatcher hands them to whichever
machine is free) after one warm-up run per machine, and measures from the first POST to the last
run's `finishedAt`. Rounds: machine alpha alone, then alpha and beta.

    .venv/bin/python -m bench.fleet [--quick]

BENCH_PG_DB, BENCH_REDIS_BROKER and BENCH_REDIS_WAKEUPS (bench/common.py) move it to another
database and Redis DBs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from bench.common import fmt, pct, print_table, setup_django, teardown_django, write_result

MODEL_DELAY_S = 1.0
RUNS = 20
QUICK_RUNS = 8
SCENARIO = """
id: fleet-bench
title: Look at the screen and say done
route: desktop
instruction: Take a screenshot, then say done.
limits: {maxTurns: 4, timeoutSeconds: 120}
"""


def per_run_script(delay_s: float):
    """A fake model that gives every run the same two turns, whichever runs ask at the same time:
    a screenshot first, "done" once the screenshot came back (one FIFO script would mix them up)."""
    from tests.fakes.openai_server import DEFAULT_USAGE, FakeOpenAI, Turn

    class PerRun(FakeOpenAI):
        def _next(self, body: dict):
            looked = any(item.get("type") == "computer_call_output" for item in body.get("input") or [])
            if looked:
                return Turn([self.message("done")], DEFAULT_USAGE, delay_s)
            return Turn([self.computer_call({"type": "screenshot"})], DEFAULT_USAGE, delay_s)

    return PerRun().start()


def round_of_runs(deployment, machines: list[str], runs: int) -> dict:
    from tests.fixtures.deployment import TERMINAL

    for name in machines:  # warm: the first run of a worker pays for imports and connections
        warm = deployment.post("/api/runs", {"scenarioId": "fleet-bench", "machine": name})
        assert deployment.wait_for_run(warm["id"], TERMINAL, timeout=120)["status"] == "succeeded"
    started = time.time()
    ids = [deployment.post("/api/runs", {"scenarioId": "fleet-bench"})["id"] for _ in range(runs)]
    records = [deployment.wait_for_run(run_id, TERMINAL, timeout=60 + 30 * runs) for run_id in ids]
    failed = [r["id"] for r in records if r["status"] != "succeeded"]
    if failed:
        raise RuntimeError(f"runs did not succeed: {failed}")
    at = lambda r, key: datetime.fromisoformat(r[key]).timestamp()  # noqa: E731
    seconds = max(at(r, "finishedAt") for r in records) - started
    # Where a machine's time goes: executing a run, or between one run's end and its next's start.
    gaps = []
    for name in machines:
        mine = sorted((r for r in records if r["machine"] == name), key=lambda r: at(r, "startedAt"))
        gaps += [at(b, "startedAt") - at(a, "finishedAt") for a, b in zip(mine, mine[1:])]
    return {
        "machines": len(machines),
        "runs": runs,
        "seconds": round(seconds, 1),
        "runs_per_min": round(runs / seconds * 60, 1),
        "by_machine": dict(Counter(r["machine"] for r in records)),
        "run_s": _seconds([at(r, "finishedAt") - at(r, "startedAt") for r in records]),
        "between_runs_s": _seconds(gaps),
    }


def _seconds(values: list[float]) -> dict:
    return {"n": len(values), "p50": round(pct(values, 50) or 0, 2), "max": round(max(values, default=0), 2)}


def run(quick: bool = False) -> dict:
    from tests.fixtures.desktop import start_desktop

    data_dir = setup_django("scaled")
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-0123456789abcdef")
    from tests.fixtures.deployment import Deployment

    runs = QUICK_RUNS if quick else RUNS
    scenarios = Path(tempfile.mkdtemp(prefix="deskhand-bench-fleet-scenarios-"))
    (scenarios / "fleet-bench.yaml").write_text(SCENARIO)
    fake = per_run_script(MODEL_DELAY_S)
    desktops = {name: start_desktop(1280, 800) for name in ("alpha", "beta")}
    (data_dir / "fleet").mkdir()
    deployment = Deployment(
        data_dir / "fleet", fake, extra_env={"DESKHAND_SCENARIOS_DIR": str(scenarios), "DESKHAND_LOG_LEVEL": "WARNING"}
    )
    rounds = []
    try:
        deployment.serve(no_worker=True, headless=True)
        deployment.worker("alpha", display_env=desktops["alpha"].env)
        rounds.append(round_of_runs(deployment, ["alpha"], runs))
        deployment.worker("beta", display_env=desktops["beta"].env)
        rounds.append(round_of_runs(deployment, ["alpha", "beta"], runs))
    finally:
        deployment.stop()
        for desktop in desktops.values():
            desktop.stop()
        fake.stop()
        teardown_django("scaled", data_dir)
    one, two = rounds
    speedup = round(two["runs_per_min"] / one["runs_per_min"], 2)
    print_table(
        f"Fleet: runs per minute, {runs} runs queued at once, model turns of {MODEL_DELAY_S:g} s",
        ["machines", "runs", "seconds", "runs/min", "runs per machine", "run p50 s", "between runs p50 s", "× one"],
        [
            [
                r["machines"],
                r["runs"],
                r["seconds"],
                r["runs_per_min"],
                ", ".join(f"{k} {v}" for k, v in sorted(r["by_machine"].items())),
                fmt(r["run_s"]["p50"], 2),
                fmt(r["between_runs_s"]["p50"], 2),
                fmt(ratio, 2),
            ]
            for r, ratio in ((one, 1.0), (two, speedup))
        ],
    )
    result = {"model_delay_s": MODEL_DELAY_S, "rounds": rounds, "speedup_2_over_1": speedup, "target": 1.8}
    print(f"wrote {write_result('fleet', result)}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args().quick)
