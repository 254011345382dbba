"""The step as a user gets it: a run through the whole server, measured from the model's wire.

A real `serve` (Daphne and its embedded Celery worker; scaled: `serve --no-worker` beside a
`manage.py worker`, PostgreSQL and Redis) drives a Mousepad on a real Xvfb desktop, the loopback
fake Responses server answering at once. Each `notepad-hello` run is one screenshot-only turn, then
`--steps` click+type turns, then "done". What the fake server sees gives, per run:

* first request: `POST /api/runs` sent → the run's first model request arrived;
* screenshot step: the answer "take a screenshot" sent → the next request arrived;
* click+type step: the answer "click, type" sent → the next request arrived.

The first run after `serve` starts is "cold", the later ones "warm". At each of three screen sizes,
and side by side in the same process: the engine alone with the in-memory sink (what
`bench.step_overhead` measures) and the anchors' fixed waits after each action. Last, whether
each mode meets the targets a user should get at 1920×1080 (`TARGETS`).

    .venv/bin/python -m bench.server_step [--quick] [--modes embedded,scaled] [--sizes 1920x1080]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.common import child_args, pct, print_table, run_children, setup_django, teardown_django, write_result

SIZES = ("1280x800", "1920x1080", "2560x1440")
WARM_RUNS = 2
# The anchors: agents that wait a fixed time after acting (see docs/PERFORMANCE.md §1).
ANCHOR_WAITS_S = (0.5, 0.75)
# What a user should get at 1920×1080, in both modes (ms): label → (where in a size's result, limit).
TARGET_SIZE = "1920x1080"
TARGETS = {
    "first request, cold": (("cold", "first_request_ms"), 1000),
    "first request, warm p50": (("warm", "first_request_ms", "p50_ms"), 300),
    "screenshot step, warm p50": (("warm", "screenshot_step_ms", "p50_ms"), 60),
    "click+type step, warm p50": (("warm", "click_type", "p50_ms"), 100),
}


def _script(fake, steps: int, x: int, y: int) -> None:
    fake.add_turn(fake.computer_call({"type": "screenshot"}))
    for n in range(steps):
        fake.add_turn(fake.computer_call({"type": "click", "x": x, "y": y}, {"type": "type", "text": f"step {n} "}))
    fake.add_turn(fake.message("done"))


def _p(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": pct(values, 50), "p95_ms": pct(values, 95)}


def _one_run(deployment, fake, steps: int, x: int, y: int) -> dict:
    """POST a run, wait for its end, read its timings off the fake server's records."""
    seen = len(fake.model_requests())
    _script(fake, steps, x, y)
    sent = time.time()
    run = deployment.post("/api/runs", {"scenarioId": "notepad-hello", "input": {"text": "step"}, "mode": "model"})
    record = deployment.wait_for_run(run["id"], {"succeeded", "failed", "stopped", "interrupted"}, timeout=120)
    if record["status"] != "succeeded":  # the check (the typed text in the editor) failed
        raise RuntimeError(f"run {run['id']} {record['status']}: {record.get('summary') or record.get('error')}")
    requests = fake.model_requests()[seen:]
    if len(requests) != steps + 2:
        raise RuntimeError(f"run {run['id']} made {len(requests)} model requests, not {steps + 2}: {record}")
    gaps = [(requests[i + 1].arrived_at - requests[i].answered_at) * 1000 for i in range(len(requests) - 1)]
    return {
        "status": record["status"],
        "first_request_ms": (requests[0].arrived_at - sent) * 1000,
        "screenshot_step_ms": gaps[0],
        "click_type_ms": gaps[1:],
    }


def _through_server(mode: str, desktop, fake, editor, steps: int, runs: int) -> dict:
    from tests.fixtures.deployment import Deployment

    data_dir = Path(tempfile.mkdtemp(prefix="deskhand-bench-step-"))
    deployment = Deployment(data_dir, fake, desktop_env=desktop.env, extra_env={"DESKHAND_LOG_LEVEL": "WARNING"})
    try:
        if mode == "scaled":
            deployment.serve(no_worker=True)
            deployment.worker(deployment.machine_name, display_env=desktop.env)
        else:
            deployment.serve()
        x, y = editor
        results = [_one_run(deployment, fake, steps, x, y) for _ in range(runs)]
    finally:
        deployment.stop()
    cold, warm = results[0], results[1:]
    warm_clicks = [ms for r in warm for ms in r["click_type_ms"]]
    return {
        "statuses": [r["status"] for r in results],
        "cold": {
            "first_request_ms": cold["first_request_ms"],
            "screenshot_step_ms": cold["screenshot_step_ms"],
            "click_type": _p(cold["click_type_ms"]),
        },
        "warm": {
            "first_request_ms": _p([r["first_request_ms"] for r in warm]),
            "screenshot_step_ms": _p([r["screenshot_step_ms"] for r in warm]),
            "click_type": _p(warm_clicks),
        },
    }


def _in_memory(fake, desktop, steps: int) -> dict:
    """The engine alone (RecordingSink), with settle, and with the anchors' fixed waits."""
    from agent.screen import ScreenConfig
    from bench.step_overhead import run_engine

    def fixed(seconds: float) -> ScreenConfig:  # nothing counts as a change: waits exactly `seconds`
        return ScreenConfig(settle_quiet_s=seconds, settle_max_s=seconds, settle_ignore_pixels=10**9)

    out = {"engine": _p(run_engine(fake, desktop, steps, ScreenConfig()))}
    for seconds in ANCHOR_WAITS_S:
        out[f"fixed_{int(seconds * 1000)}ms"] = _p(run_engine(fake, desktop, 4, fixed(seconds)))
    return out


def child(args) -> None:
    """One mode at one size (`--sizes WxH`) in this process."""
    from agent.computer import get_computer
    from agent.screen import ScreenConfig, target_size
    from tests.fakes.openai_server import FakeOpenAI
    from tests.fixtures.desktop import start_desktop

    data_dir = setup_django(args.mode)
    os.environ["OPENAI_API_KEY"] = "sk-bench-0123456789abcdef"
    steps = 5 if args.quick else 10
    size = args.sizes
    width, height = (int(v) for v in size.split("x"))
    desktop = start_desktop(width, height)
    os.environ["DISPLAY"] = desktop.display
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = desktop.env.get("DBUS_SESSION_BUS_ADDRESS", "")
    fake = FakeOpenAI().start()
    try:
        editor = desktop.open_editor(name=f"bench-{size}.txt")
        win = next(w for w in get_computer().windows() if editor.title_hint in w["title"])
        # The model clicks in its screenshot's pixels (at most 1600 wide): the editor's centre there.
        model_width, _ = target_size(width, height, ScreenConfig().max_long_edge)
        scale = width / model_width
        centre = (round((win["x"] + win["width"] // 2) / scale), round((win["y"] + win["height"] // 2) / scale))
        result = _through_server(args.mode, desktop, fake, centre, steps, 1 + WARM_RUNS)
        result["in_memory"] = _in_memory(fake, desktop, steps)
        print(f"  server_step {args.mode} {size}: {json.dumps(result)}", file=sys.stderr)
    finally:
        fake.stop()
        desktop.stop()
        teardown_django(args.mode, data_dir)
    with open(args.out, "w") as handle:
        json.dump({"mode": args.mode, "steps_per_run": steps, "sizes": {size: result}}, handle)


def run(quick: bool = False, modes=("embedded", "scaled"), sizes: str = ",".join(SIZES)) -> dict:
    # A process per mode and size: the desktop (pyautogui, mss) binds to the first display it sees.
    results: dict = {}
    for size in sizes.split(","):
        for mode, res in run_children(
            "server_step", modes, quick=quick, extra=["--sizes", size], timeout_s=600
        ).items():
            merged = results.setdefault(mode, {"mode": mode, "sizes": {}})
            if "error" in res:
                merged["error"] = f"{size}: {res['error']}"
            else:
                merged["sizes"].update(res["sizes"])
                merged["steps_per_run"] = res["steps_per_run"]
    rows = []
    for mode, res in results.items():
        if "error" in res:
            rows.append([mode, "error: " + res["error"]] + [""] * (9 + len(ANCHOR_WAITS_S)))
        for size, r in res["sizes"].items():
            cold, warm, mem = r["cold"], r["warm"], r["in_memory"]
            click = warm["click_type"]["p50_ms"]
            rows.append(
                [
                    f"{mode} {size}",
                    cold["first_request_ms"],
                    warm["first_request_ms"]["p50_ms"],
                    cold["screenshot_step_ms"],
                    warm["screenshot_step_ms"]["p50_ms"],
                    cold["click_type"]["p50_ms"],
                    click,
                    warm["click_type"]["p95_ms"],
                    mem["engine"]["p50_ms"],
                    round(click / mem["engine"]["p50_ms"], 2),
                    *(round(mem[f"fixed_{int(s * 1000)}ms"]["p50_ms"] / click, 1) for s in ANCHOR_WAITS_S),
                ]
            )
    print_table(
        "A step through the whole server, from the model's wire (ms)",
        [
            "mode size",
            "1st req cold",
            "1st req warm",
            "shot cold",
            "shot warm",
            "click+type cold p50",
            "warm p50",
            "warm p95",
            "engine alone p50",
            "server / engine",
            *(f"wait {int(s * 1000)} ms / server" for s in ANCHOR_WAITS_S),
        ],
        rows,
    )
    targets = _targets(results)
    print_table(
        f"Targets at {TARGET_SIZE} (ms)",
        ["mode", "target", "limit", "measured", "met"],
        [[t["mode"], t["target"], t["limit"], t["measured"], "yes" if t["met"] else "NO"] for t in targets],
    )
    path = write_result("server_step", {"what": __doc__.split("\n\n")[0], "modes": results, "targets": targets})
    print(f"wrote {path}")
    return results


def _targets(results: dict) -> list[dict]:
    rows = []
    for mode, res in results.items():
        measured_at = res["sizes"].get(TARGET_SIZE)
        if measured_at is None:
            continue
        for label, (where, limit) in TARGETS.items():
            value = measured_at
            for key in where:
                value = value[key]
            rows.append(
                {"mode": mode, "target": label, "limit": limit, "measured": round(value, 1), "met": value <= limit}
            )
    return rows


if __name__ == "__main__":
    import argparse

    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--sizes", default=",".join(SIZES))
    known, rest = extra.parse_known_args()
    a = child_args(rest)
    if a.child:
        a.sizes = known.sizes
        child(a)
    else:
        run(a.quick, a.modes.split(","), known.sizes)
