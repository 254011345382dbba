"""`python -m bench` (= `make bench`): every bench, one table each, JSON in bench/results/<name>.json.

    .venv/bin/python -m bench [--quick] [--only NAME[,NAME]]

Names: server_step, step_overhead, bytes_per_step, screen_stream, event_delivery, api_load, admission, fleet, replay.
Set BENCH_PROFILE=1 to py-spy the server during the largest rounds (event_delivery, screen_stream).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from bench.common import RESULTS_DIR, ROOT, machine, print_table, write_result

ORDER = (
    "server_step",
    "step_overhead",
    "bytes_per_step",
    "screen_stream",
    "event_delivery",
    "api_load",
    "admission",
    "fleet",
    "replay",
)
# Benches that drive their own X display: each runs in a process of its own (pyautogui binds to the
# display when it is imported), with these arguments, quick and full.
OWN_PROCESS = {
    "step_overhead": (["--steps", "8"], ["--steps", "20"]),
    "replay": (["--repeats", "2"], ["--repeats", "5"]),
}


def own_process(name: str, quick: bool) -> dict:
    """A bench run as is in its own process; its JSON (bench/results/<name>.json) folded in."""
    path = RESULTS_DIR / f"{name}.json"
    path.unlink(missing_ok=True)
    args = OWN_PROCESS[name][0 if quick else 1]
    proc = subprocess.run([sys.executable, "-m", f"bench.{name}", *args], cwd=ROOT, timeout=300)
    if proc.returncode != 0 or not path.exists():
        return {"error": f"exit code {proc.returncode}"}
    return json.loads(path.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run, ~3 min)")
    parser.add_argument("--only", help="comma-separated bench names")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",")] if args.only else list(ORDER)
    unknown = set(names) - set(ORDER)
    if unknown:
        parser.error(f"unknown bench {', '.join(sorted(unknown))}; choose from {', '.join(ORDER)}")
    print("machine:", json.dumps(machine()))
    started = time.monotonic()
    timings, results = [], {}
    for name in names:
        t = time.monotonic()
        try:
            if name in OWN_PROCESS:
                results[name] = own_process(name, args.quick)
            else:
                module = __import__(f"bench.{name}", fromlist=["run"])
                results[name] = module.run(args.quick)
        except Exception as exc:  # noqa: BLE001 - one broken bench must not hide the others
            results[name] = {"error": repr(exc)}
            print(f"{name} failed: {exc!r}", file=sys.stderr)
        timings.append([name, round(time.monotonic() - t, 1)])
    total = round(time.monotonic() - started, 1)
    print_table("Bench durations (s)", ["bench", "seconds"], timings + [["total", total]])
    write_result("summary", {"quick": args.quick, "durations_s": dict(timings), "total_s": total})


if __name__ == "__main__":
    main()
