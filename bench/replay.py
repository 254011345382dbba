"""Autopilot: the same task done by the model and replayed from the recording, side by side.

`notepad-hello` as the engine runs it (the real computer on Xvfb 1280x800, a real mousepad, the
fake Responses server answering each model call after `--delay` seconds, 2 s by default: a real
computer-use call takes 5-30 s): the model looks, clicks into the editor and types, reports; the
success check reads the editor back. Then that recording is replayed into a fresh editor, where it
was (an unchanged screen) and in an editor moved and resized (the click's target found elsewhere).
Wall time of `run_task` (checks included) and the requests the fake server received, per variant.

    .venv/bin/python -m bench.replay [--repeats 5] [--delay 2]

Prints a table and writes bench/results/replay.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import pct, print_table, write_result
from tests.fakes.openai_server import FakeOpenAI
from tests.fixtures.desktop import start_desktop

CHECKS = [{"textInWindow": "hello"}]


def _client(fake):
    from agent.transports import TransportConfig, build_client

    return build_client(
        "api-key", TransportConfig(openai_api_key="sk-bench-0123456789abcdef", openai_base_url=fake.api_base_url)
    )


def _centre(editor) -> tuple[int, int]:
    from agent.computer import get_computer

    window = next(w for w in get_computer().windows() if editor.title_hint in w["title"])
    return window["x"] + window["width"] // 2, window["y"] + window["height"] // 2


def _task(**extra):
    from agent.engine import Task

    return Task(
        instruction="Type hello into the text editor.", model="gpt-5.4", route="desktop", checks=CHECKS, **extra
    )


def model_run(fake, desktop, delay_s: float):
    """One model run of the task; (seconds, model requests, the recording it leaves)."""
    from agent.computer import get_computer
    from agent.engine import run_task
    from agent.recording import recording_read
    from agent.sink import RecordingSink

    editor = desktop.open_editor(name=f"bench-model-{time.monotonic_ns()}.txt")
    try:
        x, y = _centre(editor)
        fake.add_turn(fake.computer_call({"type": "screenshot"}), delay_s=delay_s)
        fake.add_turn(
            fake.computer_call({"type": "click", "x": x, "y": y}, {"type": "type", "text": "hello"}), delay_s=delay_s
        )
        fake.add_turn(fake.message("I typed hello."), delay_s=delay_s)
        before, sink, client = len(fake.requests), RecordingSink(), _client(fake)
        started = time.perf_counter()
        outcome = run_task(_task(), sink=sink, client=client, computer=get_computer())
        took = time.perf_counter() - started
        client.close()
        assert outcome.status == "succeeded", outcome.summary
        recording = recording_read("bench-model-run", sink.events)
        recording.images = {ref: data for ref, (data, *_) in sink.screenshots.items()}
        recording.input = {"text": "hello"}
        return took, len(fake.requests) - before, recording
    finally:
        editor.close()


def replay_run(fake, desktop, recording, *, moved: bool):
    """One replay of `recording` into a fresh editor; (seconds, model requests, steps replayed)."""
    from agent.computer import get_computer
    from agent.engine import run_task
    from agent.recording import ReplayPlan
    from agent.sink import RecordingSink

    editor = desktop.open_editor(name=f"bench-replay-{time.monotonic_ns()}.txt")
    try:
        if moved:
            desktop.place(editor, 300, 150, 900, 560)  # and painted there: not measured
        before, client = len(fake.requests), _client(fake)
        started = time.perf_counter()
        outcome = run_task(
            _task(replay=ReplayPlan(recording)), sink=RecordingSink(), client=client, computer=get_computer()
        )
        took = time.perf_counter() - started
        client.close()
        assert outcome.status == "succeeded", outcome.summary
        return took, len(fake.requests) - before, (outcome.replay or {}).get("replayed", 0)
    finally:
        editor.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds each model call takes (fake server)")
    args = parser.parse_args()

    desktop = start_desktop(1280, 800)
    os.environ["DISPLAY"] = desktop.display
    os.environ.pop("XAUTHORITY", None)
    fake = FakeOpenAI().start()
    samples: dict[str, list[tuple[float, int]]] = {
        "model run": [],
        "replay, unchanged screen": [],
        "replay, window moved and resized": [],
    }
    recording = None
    try:
        for _ in range(args.repeats):
            took, calls, recording = model_run(fake, desktop, args.delay)
            samples["model run"].append((took, calls))
            for name, moved in (("replay, unchanged screen", False), ("replay, window moved and resized", True)):
                took, calls, replayed = replay_run(fake, desktop, recording, moved=moved)
                assert replayed == len(recording.steps), (
                    f"{name}: only {replayed} of {len(recording.steps)} steps replayed"
                )
                samples[name].append((took, calls))
    finally:
        fake.stop()
        desktop.stop()

    model_p50 = pct([s for s, _ in samples["model run"]], 50)
    rows, results = [], {}
    for name, values in samples.items():
        seconds = [s for s, _ in values]
        p50 = pct(seconds, 50)
        results[name] = {
            "n": len(values),
            "p50_s": round(p50, 3),
            "p95_s": round(pct(seconds, 95), 3),
            "model_calls_per_run": sum(c for _, c in values) / len(values),
            "times_faster_than_model": round(model_p50 / p50, 1),
        }
        rows.append([name, len(values), p50, pct(seconds, 95), results[name]["model_calls_per_run"], model_p50 / p50])
    print_table(
        f"Autopilot: notepad-hello, model calls {args.delay:g} s each",
        ["variant", "n", "p50 s", "p95 s", "model calls", "x faster"],
        rows,
    )
    write_result(
        "replay",
        {
            "what": "notepad-hello through run_task on Xvfb 1280x800 with mousepad; model calls answered by the fake "
            f"server after {args.delay:g} s; wall time includes the success check",
            "model_delay_s": args.delay,
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
