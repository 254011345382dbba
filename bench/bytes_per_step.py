"""Bytes to the model per step: the engine's screenshot at its default settings vs a full-size PNG.

The same captured frame of a real Xvfb desktop (1920x1080, mousepad holding ~20 KB of source) goes
through `agent.screen.prepare` with `ScreenConfig()` (the default) and the JPEG option, and through
what a naive pipeline sends (full-size PNG, Pillow's default level 6). Bytes are what goes over the
wire inside the request (base64 data URL); encode time is per frame, median of N.

    .venv/bin/python -m bench.bytes_per_step [--quick]
"""

from __future__ import annotations

import base64
import io
import json
import statistics
import time

from bench.common import busy_desktop, child_args, print_table, run_children, write_result


def _median_ms(fn, n: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1), out


def child(args) -> None:
    desktop, editor = busy_desktop(1920, 1080)
    n = 5 if args.quick else 15
    try:
        from PIL import Image

        from agent.computer import get_computer
        from agent.screen import ScreenConfig, prepare

        computer = get_computer()
        capture = computer.screenshot()
        frame = Image.frombytes("RGB", capture.size, capture.raw, "raw", "BGRX")

        def full_png():
            buf = io.BytesIO()
            frame.save(buf, "PNG")
            return buf.getvalue()

        variants = [
            ("deskhand default (ScreenConfig())", ScreenConfig()),
            ("deskhand JPEG option (q85 4:4:4)", ScreenConfig(image_format="jpeg")),
        ]
        rows = []
        for name, config in variants:
            ms, shot = _median_ms(lambda config=config: prepare(frame, capture.geometry, config), n)
            rows.append(
                {
                    "pipeline": name,
                    "format": shot.mime,
                    "size": f"{shot.width}x{shot.height}",
                    "bytes": len(shot.data),
                    "base64_bytes": len(base64.b64encode(shot.data)),
                    "encode_ms": ms,
                }
            )
        ms, data = _median_ms(full_png, n)
        rows.append(
            {
                "pipeline": "full-size PNG (Pillow default level 6)",
                "format": "image/png",
                "size": f"{frame.width}x{frame.height}",
                "bytes": len(data),
                "base64_bytes": len(base64.b64encode(data)),
                "encode_ms": ms,
            }
        )
        reference = rows[-1]["base64_bytes"]
        for row in rows:
            row["vs_full_png"] = round(row["base64_bytes"] / reference, 2)
    finally:
        editor.close()
        desktop.stop()
    with open(args.out, "w") as handle:
        json.dump(
            {"mode": "embedded", "screen": "1920x1080 Xvfb, mousepad with ~20 KB of source", "rows": rows}, handle
        )


def run(quick: bool = False, modes=("embedded",)) -> dict:
    results = run_children("bytes_per_step", ["embedded"], quick=quick, timeout_s=120)
    res = results["embedded"]
    table = [
        [r["pipeline"], r["format"], r["size"], r["bytes"], r["base64_bytes"], r["vs_full_png"], r["encode_ms"]]
        for r in res.get("rows", [])
    ]
    if "error" in res:
        table.append(["error: " + res["error"]] + [""] * 6)
    print_table(
        "Bytes to the model per step (one 1920x1080 frame of a busy screen)",
        ["pipeline", "format", "sent size", "bytes", "base64 bytes", "x full PNG", "encode ms"],
        table,
    )
    path = write_result("bytes_per_step", {"what": "screenshot bytes per model request", "result": res})
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    a = child_args()
    if a.child:
        child(a)
    else:
        run(a.quick)
