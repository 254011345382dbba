"""Event delivery: `event_append` (what the sink calls) → an SSE client, through Daphne.

1, 10 and 100 concurrent subscribers of one owner's stream (the tests' generic owner stream,
`tests/events/stream_settings.py`), embedded (SQLite + polled wake-ups) and scaled (PostgreSQL +
Redis wake-ups). The writer stamps `time.time()` into each event; each client subtracts it on
receipt. Every subscriber must get seq 1..N exactly once, in order (loss/duplication counted).

    .venv/bin/python -m bench.event_delivery [--quick]
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import threading
import time

from bench.common import (
    RESULTS_DIR,
    TOKEN,
    child_args,
    print_table,
    py_spy,
    run_children,
    server,
    setup_django,
    summarise_collapsed,
    summary_ms,
    teardown_django,
    write_result,
)

PROFILE = RESULTS_DIR / "profiles" / "x"

SUBSCRIBERS = (1, 10, 100)


async def _subscriber(client, url: str, ready: asyncio.Event, counter: list, got: list, deadline: float) -> None:
    async with client.stream("GET", url) as response:
        counter[0] += 1
        if counter[0] == counter[1]:
            ready.set()
        data = None
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and data is not None:
                received = time.time()
                message = json.loads(data)
                data = None
                if message["type"] == "status":
                    return
                got.append((message["seq"], received - message["data"]["t"]))
            if time.monotonic() > deadline:
                return


def _writer(owner: str, count: int, started: threading.Event, errors: list) -> None:
    try:
        _write(owner, count, started)
    except Exception as exc:  # noqa: BLE001 - reported in the round's result
        errors.append(repr(exc))


def _write(owner: str, count: int, started: threading.Event) -> None:
    from events.services import event_append

    started.wait(30)
    rng = random.Random(7)
    for i in range(count):
        # Irregular gaps, so appends fall anywhere within the readers' poll interval.
        time.sleep(rng.uniform(0.02, 0.08))
        event_append(owner_id=owner, type="bench", data={"t": time.time(), "i": i})
    time.sleep(0.2)
    event_append(owner_id=owner, type="status", data={"status": "succeeded", "t": time.time()})


async def _round(srv, subscribers: int, events: int) -> dict:
    import httpx

    owner = f"bench_{subscribers}_{time.monotonic_ns()}"
    url = f"{srv.url}/api/test/streams/{owner}"
    limits = httpx.Limits(max_connections=subscribers + 5, max_keepalive_connections=0)
    ready, counter = asyncio.Event(), [0, subscribers]
    received = [[] for _ in range(subscribers)]
    deadline = time.monotonic() + 30 + events * 0.2
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {TOKEN}"}, limits=limits, timeout=httpx.Timeout(60, connect=30)
    ) as client:
        tasks = [
            asyncio.create_task(_subscriber(client, url, ready, counter, received[i], deadline))
            for i in range(subscribers)
        ]
        await asyncio.wait_for(ready.wait(), 60)
        await asyncio.sleep(0.3)  # the last subscriber's first read of the rows
        started, errors = threading.Event(), []
        writer = threading.Thread(target=_writer, args=(owner, events, started, errors))
        writer.start()
        started.set()
        await asyncio.wait_for(asyncio.gather(*tasks), deadline - time.monotonic() + 5)
        writer.join(30)
    latencies = [lat for got in received for _, lat in got]
    expected = list(range(1, events + 1))
    lost = sum(len(set(expected) - {seq for seq, _ in got}) for got in received)
    duplicated = sum(len(got) - len({seq for seq, _ in got}) for got in received)
    out_of_order = sum(1 for got in received if [s for s, _ in got] != sorted(s for s, _ in got))
    return {
        "subscribers": subscribers,
        "events": events,
        "deliveries": len(latencies),
        **summary_ms(latencies, scale=1000),
        "lost": lost,
        "duplicated": duplicated,
        "out_of_order_streams": out_of_order,
        "writer_errors": errors,
    }


def child(args) -> None:
    data_dir = setup_django(args.mode)
    from django.conf import settings

    events = 30 if args.quick else 100
    srv = server({"DJANGO_SETTINGS_MODULE": "tests.events.stream_settings"})
    rows = []
    try:
        for n in SUBSCRIBERS:
            spy = None
            if args.profile and n == SUBSCRIBERS[-1]:
                spy = py_spy(srv.proc.pid, 8, PROFILE.with_name(f"event_delivery-{args.mode}-{n}.txt"))
            try:
                rows.append(asyncio.run(_round(srv, n, events)))
            except Exception as exc:  # noqa: BLE001 - one failing round must not hide the others
                rows.append({"subscribers": n, "events": events, "error": repr(exc)[:300]})
            if spy:
                spy.wait(30)
                profile = summarise_collapsed(PROFILE.with_name(f"event_delivery-{args.mode}-{n}.txt"))
                rows[-1]["profile"] = profile
            print(f"  event_delivery {args.mode} {n} subscribers: {rows[-1]}", file=sys.stderr)
            time.sleep(1)  # streams of the last round close; a PostgreSQL server frees their connections
    finally:
        srv.stop()
        teardown_django(args.mode, data_dir)
    payload = {
        "mode": args.mode,
        "poll_interval_s": settings.EVENT_POLL_INTERVAL,
        "redis_wakeups": bool(settings.REDIS_URL),
        "database": settings.DATABASES["default"]["ENGINE"],
        "rows": rows,
    }
    with open(args.out, "w") as handle:
        json.dump(payload, handle)


def run(quick: bool = False, modes=("embedded", "scaled")) -> dict:
    results = run_children("event_delivery", modes, quick=quick)
    rows = []
    for mode, res in results.items():
        for r in res.get("rows", []):
            if "error" in r:
                rows.append([mode, r["subscribers"], "error: " + r["error"][:60]] + [""] * 7)
                continue
            target = 100 if mode == "embedded" else 50
            rows.append(
                [
                    mode,
                    r["subscribers"],
                    r["deliveries"],
                    r["p50_ms"],
                    r["p95_ms"],
                    r["p99_ms"],
                    r["max_ms"],
                    r["lost"],
                    r["duplicated"],
                    "yes" if r["p95_ms"] < target and not r["lost"] else "NO",
                ]
            )
        if "error" in res:
            rows.append([mode, "error: " + res["error"]] + [""] * 8)
    print_table(
        "Event delivery: event_append -> SSE client (ms)",
        ["mode", "subs", "deliveries", "p50", "p95", "p99", "max", "lost", "dup", "target met"],
        rows,
    )
    path = write_result(
        "event_delivery",
        {
            "what": "latency from event_append (writer in the bench process) to receipt by each SSE client via Daphne",
            "targets": {"embedded_p95_ms": 100, "scaled_p95_ms": 50},
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
        run(a.quick, a.modes.split(","))
