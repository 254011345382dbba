"""The engine's own overhead per step: model answer received → next model request sent.

A click + type batch into a real editor under Xvfb, against the fake Responses server answering at
once, settle and screenshot encoding included. Side by side, in the same harness:
fixed waits of 2 s / 750 ms / 500 ms after the batch (the anchors' approach) and a naive pyautogui
pipeline (PAUSE 0.1, pyautogui.write, ImageGrab, full-size PNG).

    .venv/bin/python -m bench.step_overhead [--steps 20]

Prints a table and writes bench/results/step_overhead.json.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.openai_server import FakeOpenAI
from tests.fixtures.desktop import start_desktop

RESULTS = Path(__file__).resolve().parent / "results" / "step_overhead.json"


class TimedClient:
    """Wraps a ModelClient and records, per call, when it started and when its answer arrived."""

    def __init__(self, inner):
        self.inner = inner
        self.provider = inner.provider
        self.calls: list[tuple[float, float]] = []

    @property
    def computer_tool(self):
        return self.inner.computer_tool

    @computer_tool.setter
    def computer_tool(self, value):
        self.inner.computer_tool = value

    def create(self, request, **kw):
        start = time.perf_counter()
        response = self.inner.create(request, **kw)
        self.calls.append((start, time.perf_counter()))
        return response

    def overheads_ms(self) -> list[float]:
        # Between one answer and the next request: everything the engine did in between.
        return [(self.calls[i + 1][0] - self.calls[i][1]) * 1000 for i in range(len(self.calls) - 1)]


def _script(fake: FakeOpenAI, steps: int, x: int, y: int) -> None:
    fake.add_turn(fake.computer_call({"type": "screenshot"}))
    for n in range(steps):
        fake.add_turn(fake.computer_call({"type": "click", "x": x, "y": y}, {"type": "type", "text": f"step {n} "}))
    fake.add_turn(fake.message("done"))


def run_engine(fake, desktop, steps: int, screen) -> list[float]:
    from agent.computer import get_computer
    from agent.engine import Task, run_task
    from agent.screen import target_size
    from agent.sink import RecordingSink
    from agent.transports import TransportConfig, build_client

    editor = desktop.open_editor(name=f"bench-{time.monotonic_ns()}.txt")
    try:
        computer = get_computer()
        win = next(w for w in computer.windows() if editor.title_hint in w["title"])
        # The model clicks in its screenshot's pixels, which are fewer than the screen's above 1600.
        scale = desktop.width / target_size(desktop.width, desktop.height, screen.max_long_edge)[0]
        x, y = (win["x"] + win["width"] // 2) / scale, (win["y"] + win["height"] // 2) / scale
        _script(fake, steps, round(x), round(y))
        client = TimedClient(
            build_client(
                "api-key",
                TransportConfig(openai_api_key="sk-bench-0123456789abcdef", openai_base_url=fake.api_base_url),
            )
        )
        outcome = run_task(
            Task(instruction="bench", model="gpt-5.4", route="desktop", max_turns=steps + 5),
            sink=RecordingSink(),
            client=client,
            computer=computer,
            screen=screen,
        )
        assert outcome.status == "succeeded", outcome.summary
        return client.overheads_ms()[1:]  # the first gap follows the screenshot-only turn
    finally:
        editor.close()


def run_naive(fake, desktop, steps: int) -> list[float]:
    """What a first attempt looks like: pyautogui defaults, ImageGrab, full-size PNG."""
    import openai
    import pyautogui
    from PIL import ImageGrab

    editor = desktop.open_editor(name=f"bench-naive-{time.monotonic_ns()}.txt")
    saved_pause = pyautogui.PAUSE
    pyautogui.PAUSE = 0.1
    try:
        from agent.computer import get_computer

        win = next(w for w in get_computer().windows() if editor.title_hint in w["title"])
        _script(fake, steps, win["x"] + win["width"] // 2, win["y"] + win["height"] // 2)
        client = openai.OpenAI(api_key="sk-bench-0123456789abcdef", base_url=fake.api_base_url, max_retries=0)
        items = [{"role": "user", "content": "bench"}]
        gaps = []
        answered = resp = None
        while True:
            start = time.perf_counter()
            if answered is not None:
                gaps.append((start - answered) * 1000)
            previous = {"previous_response_id": resp.id} if resp is not None else {}
            resp = client.responses.create(model="gpt-5.4", input=items, tools=[{"type": "computer"}], **previous)
            answered = time.perf_counter()
            calls = [o for o in resp.output if o.type == "computer_call"]
            if not calls:
                break
            for call in calls:
                for action in call.actions:
                    if action.type == "click":
                        pyautogui.click(action.x, action.y)
                    elif action.type == "type":
                        pyautogui.write(action.text)
                buf = io.BytesIO()
                ImageGrab.grab().save(buf, "PNG")
                url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
                items = [
                    {
                        "type": "computer_call_output",
                        "call_id": call.call_id,
                        "output": {"type": "computer_screenshot", "image_url": url},
                    }
                ]
        return gaps[1:]
    finally:
        pyautogui.PAUSE = saved_pause
        editor.close()


def _stats(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    desktop = start_desktop(1280, 800)
    os.environ["DISPLAY"] = desktop.display
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = desktop.env.get("DBUS_SESSION_BUS_ADDRESS", "")
    fake = FakeOpenAI().start()
    from agent.screen import ScreenConfig

    def fixed(seconds):  # nothing counts as a change: settle waits exactly `seconds`, then captures
        return ScreenConfig(settle_quiet_s=seconds, settle_max_s=seconds, settle_ignore_pixels=10**9)

    variants = [
        ("deskhand engine (settle, PNG)", lambda: run_engine(fake, desktop, args.steps, ScreenConfig())),
        (
            "deskhand engine (settle, JPEG)",
            lambda: run_engine(fake, desktop, args.steps, ScreenConfig(image_format="jpeg")),
        ),
        ("fixed wait 500 ms (cua)", lambda: run_engine(fake, desktop, max(5, args.steps // 2), fixed(0.5))),
        ("fixed wait 750 ms (Bytebot)", lambda: run_engine(fake, desktop, max(5, args.steps // 2), fixed(0.75))),
        ("fixed wait 2 s (Anthropic demo)", lambda: run_engine(fake, desktop, 5, fixed(2.0))),
        ("naive pyautogui (PAUSE 0.1, ImageGrab, PNG)", lambda: run_naive(fake, desktop, args.steps)),
    ]
    results = {}
    try:
        for name, run in variants:
            results[name] = _stats(run())
    finally:
        fake.stop()
        desktop.stop()

    width = max(len(n) for n in results)
    print(f"{'pipeline':<{width}}  {'n':>3}  {'p50 ms':>8}  {'p95 ms':>8}")
    for name, stats in results.items():
        print(f"{name:<{width}}  {stats['n']:>3}  {stats['p50_ms']:>8.1f}  {stats['p95_ms']:>8.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "what": "model answer received -> next request sent, click + type batch, mousepad under Xvfb 1280x800",
                "machine": {
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                },
                "results": results,
            },
            indent=2,
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
