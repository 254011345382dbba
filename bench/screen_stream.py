"""Screen stream: `GET /api/live-sessions/<id>/screen-stream` through Daphne on a real Xvfb desktop.

Per viewer count (1, 5, 20) on a changing screen (a window redrawing a clock at about 60 Hz: a change in every frame): frames
per second each viewer receives, latency from the frame's `timestamp` (taken right after its JPEG
is encoded) to receipt, CPU of the Daphne process (psutil, user+sys, % of one core). Then bytes per
minute for one viewer of a static screen (nothing typed: only the editor's blinking caret) and of
the changing one. Last, for one viewer of the still screen, the time from a change a person would
see (the desktop background set with `xsetroot`) to the first frame that shows it. 1920x1080
desktop, `DESKHAND_SCREEN_STREAM_FPS=10` (the target; default is 8).

    .venv/bin/python -m bench.screen_stream [--quick]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from bench.common import (
    RESULTS_DIR,
    TOKEN,
    CpuMeter,
    busy_desktop,
    child_args,
    print_table,
    py_spy,
    run_children,
    server,
    setup_django,
    summarise_collapsed,
    summary_ms,
    teardown_django,
    ticker,
    write_result,
)

VIEWERS = (1, 5, 20)
FPS = 10


async def _sse_chunks(response):
    """Per chunk received: its arrival time (epoch seconds), its size, and the SSE messages it completed."""
    buffer = b""
    async for chunk in response.aiter_raw():
        now = time.time()
        buffer += chunk
        *messages, buffer = buffer.split(b"\n\n")
        yield now, len(chunk), messages


async def _viewer(client, url: str, seconds: float, out: dict) -> None:
    async with client.stream("GET", url) as response:
        out["status"] = response.status_code
        deadline = time.monotonic() + seconds
        out["start"] = time.monotonic()
        async for now, size, messages in _sse_chunks(response):
            out["bytes"] += size
            for message in messages:
                at = message.find(b'"timestamp":')
                if message.startswith(b"event: frame") and at >= 0:
                    stamp = int(message[at + 12 : message.index(b",", at)])
                    out["latencies"].append(now * 1000 - stamp)
            if time.monotonic() > deadline:
                break
        out["seconds"] = time.monotonic() - out["start"]


async def _watch(srv, session_id: str, viewers: int, seconds: float) -> list[dict]:
    import httpx

    url = f"{srv.url}/api/live-sessions/{session_id}/screen-stream"
    outs = [{"bytes": 0, "latencies": []} for _ in range(viewers)]
    limits = httpx.Limits(max_connections=viewers + 2, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {TOKEN}"}, limits=limits, timeout=httpx.Timeout(30)
    ) as client:
        await asyncio.wait_for(asyncio.gather(*(_viewer(client, url, seconds, o) for o in outs)), seconds + 30)
    return outs


def _phase(srv, session_id, viewers, seconds, *, changing: bool, desktop, profile: str | None = None) -> dict:
    typing = ticker(desktop, seconds + 4) if changing else None
    meter = CpuMeter(srv.proc.pid)
    spy = None
    try:
        time.sleep(0.5)
        meter.start()
        if profile:
            spy = py_spy(srv.proc.pid, seconds, RESULTS_DIR / "profiles" / f"{profile}.txt")
        outs = asyncio.run(_watch(srv, session_id, viewers, seconds))
        cpu = meter.stop()
    finally:
        if typing:
            typing.terminate()
            typing.wait(5)
    latencies = [lat for o in outs for lat in o["latencies"][1:]]  # the first frame may predate the reader
    fps = [max(0, len(o["latencies"]) - 1) / o["seconds"] for o in outs]
    per_min = [o["bytes"] / o["seconds"] * 60 for o in outs]
    row = {
        "viewers": viewers,
        "screen": "changing" if changing else "static",
        "seconds": seconds,
        "fps_per_viewer_min": round(min(fps), 2),
        "fps_per_viewer_mean": round(sum(fps) / len(fps), 2),
        "latency": summary_ms(latencies),
        "server_cpu_pct_of_one_core": cpu,
        "bytes_per_min_per_viewer": round(sum(per_min) / len(per_min)),
        "statuses": sorted({o["status"] for o in outs}),
    }
    if spy:
        spy.wait(seconds + 30)
        row["profile"] = summarise_collapsed(RESULTS_DIR / "profiles" / f"{profile}.txt")
    return row


# The desktop's background, set in turn by the change-latency phase (xsetroot); read off a frame's corner.
BACKGROUNDS = {"#c81e1e": (200, 30, 30), "#1e3cc8": (30, 60, 200)}


async def _corner_colours(client, url: str, seen: list, stop: asyncio.Event) -> None:
    """Every frame's arrival time and the colour of its top-left corner (the desktop background)."""
    import base64
    import io

    from PIL import Image

    async with client.stream("GET", url) as response:
        async for now, _, messages in _sse_chunks(response):
            for message in messages:
                if message.startswith(b"event: frame"):
                    data = json.loads(message.split(b"data: ", 1)[1])
                    image = Image.open(io.BytesIO(base64.b64decode(data["image"]))).convert("RGB")
                    seen.append((now, image.getpixel((4, 4))))
            if stop.is_set():
                return


def _nearest(rgb) -> str:
    return min(BACKGROUNDS, key=lambda name: sum((a - b) ** 2 for a, b in zip(BACKGROUNDS[name], rgb, strict=True)))


async def _change_latency(srv, session_id: str, desktop, changes: int) -> dict:
    """A change a person would see (the whole desktop background) → the first frame showing it, for one
    viewer of an otherwise still screen. The time runs from just before `xsetroot` is started, so its
    own few milliseconds are included."""
    import random
    import subprocess

    import httpx

    url = f"{srv.url}/api/live-sessions/{session_id}/screen-stream"
    seen: list = []
    stop = asyncio.Event()
    names = list(BACKGROUNDS)
    marks = []
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx.Timeout(30)) as client:
        reader = asyncio.create_task(_corner_colours(client, url, seen, stop))
        await asyncio.sleep(1.0)
        for n in range(changes):
            colour = names[n % 2]
            marks.append((time.time(), colour))
            await asyncio.to_thread(subprocess.run, ["xsetroot", "-solid", colour], env=desktop.env, timeout=10)
            await asyncio.sleep(random.uniform(0.3, 0.6))  # not in step with the stream's frame clock
        stop.set()
        await asyncio.sleep(0.5)
        reader.cancel()
    latencies = []
    for at, colour in marks:
        shown = next((t for t, rgb in seen if t >= at and _nearest(rgb) == colour), None)
        if shown is not None:
            latencies.append((shown - at) * 1000)
    return {"changes": changes, "shown": len(latencies), "latency": summary_ms(latencies)}


def child(args) -> None:
    import os

    os.environ["DESKHAND_SCREEN_STREAM_FPS"] = str(FPS)
    data_dir = setup_django(args.mode)
    from sessions.models import LiveSession

    seconds = 4 if args.quick else 8
    desktop, editor = busy_desktop()
    session = LiveSession.objects.create(auth_provider="api-key", model="gpt-5.4")
    env = {k: v for k, v in desktop.env.items() if k in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS")}
    srv = server(env)
    rows = []
    try:
        # Idle server CPU, for reference (no viewer: nothing is captured).
        meter = CpuMeter(srv.proc.pid).start()
        time.sleep(2)
        idle = meter.stop()
        for n in VIEWERS:
            rows.append(
                _phase(
                    srv,
                    session.id,
                    n,
                    seconds,
                    changing=True,
                    desktop=desktop,
                    profile=f"screen_stream-{n}" if args.profile and n in (1, VIEWERS[-1]) else None,
                )
            )
            print(f"  screen_stream {n} viewers changing: {rows[-1]}", file=sys.stderr)
        time.sleep(1)
        rows.append(_phase(srv, session.id, 1, seconds * 2, changing=False, desktop=desktop))
        print(f"  screen_stream 1 viewer static: {rows[-1]}", file=sys.stderr)
        shown = asyncio.run(_change_latency(srv, session.id, desktop, 10 if args.quick else 30))
        print(f"  screen_stream change to frame: {shown}", file=sys.stderr)
    finally:
        srv.stop()
        editor.close()
        desktop.stop()
        teardown_django(args.mode, data_dir)
    with open(args.out, "w") as handle:
        json.dump(
            {
                "mode": args.mode,
                "fps_setting": FPS,
                "screen": "1920x1080, mousepad with ~20 KB of source",
                "idle_server_cpu_pct": idle,
                "rows": rows,
                "change_to_frame": shown,
            },
            handle,
        )


def run(quick: bool = False, modes=("embedded",)) -> dict:
    results = run_children("screen_stream", modes, quick=quick)
    table = []
    for res in results.values():
        for r in res.get("rows", []):
            table.append(
                [
                    r["screen"],
                    r["viewers"],
                    r["fps_per_viewer_mean"],
                    r["fps_per_viewer_min"],
                    r["latency"].get("p50_ms"),
                    r["latency"].get("p95_ms"),
                    r["server_cpu_pct_of_one_core"],
                    round(r["bytes_per_min_per_viewer"] / 1e6, 2),
                ]
            )
        if "error" in res:
            table.append(["error: " + res["error"]] + [""] * 7)
    print_table(
        f"Screen stream ({FPS} fps setting, 1920x1080 -> 960x540 JPEG, through Daphne)",
        ["screen", "viewers", "fps mean", "fps min", "lat p50 ms", "lat p95 ms", "server cpu %", "MB/min/viewer"],
        table,
    )
    print_table(
        "A change on a still screen → the viewer's first frame showing it (ms)",
        ["changes", "shown", "p50", "p95", "max"],
        [
            [
                c["changes"],
                c["shown"],
                c["latency"].get("p50_ms"),
                c["latency"].get("p95_ms"),
                c["latency"].get("max_ms"),
            ]
            for c in (res.get("change_to_frame") for res in results.values())
            if c
        ],
    )
    path = write_result(
        "screen_stream",
        {
            "what": "live-session screen stream through Daphne on Xvfb",
            "targets": {"fps": 10, "cpu_one_viewer_pct": 25},
            "modes": results,
        },
    )
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    a = child_args()
    if a.child:
        child(a)
    else:
        run(a.quick, [m for m in a.modes.split(",") if m == "embedded"] or ["embedded"])
