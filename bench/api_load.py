"""API under load: requests/s and latency through Daphne with 1,000 and then 100,000 stored records.

Records: history (half runs, half live sessions) and memory entries, plus one run with 1,000 events for `GET /api/runs/<id>`. The same server measures the small store,
then the store grows in place and the same requests run again: the ratio is what matters.

    .venv/bin/python -m bench.api_load [--quick]
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from bench.common import (
    TOKEN,
    child_args,
    print_table,
    run_children,
    server,
    setup_django,
    summary_ms,
    teardown_django,
    write_result,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SIZES = (1_000, 100_000)
TARGET_RUN = "run_bench_target_0000000000000000000000"
CLIENTS = 4


def insert_many(model, rows: list[dict], constants: dict, batch: int = 5_000) -> None:
    """One prepared INSERT with executemany; constants prepared once (after tests/history's helper),
    auto-increment ids left to the database (PostgreSQL refuses an explicit NULL)."""
    from django.db import connection, transaction
    from django.db.models import AutoField, BigAutoField, DateTimeField

    fields = [f for f in model._meta.concrete_fields if not isinstance(f, (AutoField, BigAutoField))]
    quote = connection.ops.quote_name
    template = [
        field.get_db_prep_save(constants[field.name] if field.name in constants else field.get_default(), connection)
        for field in fields
    ]
    names = [field.name for field in fields]
    varying = [
        (
            names.index(name),
            connection.ops.adapt_datetimefield_value
            if isinstance(fields[names.index(name)], DateTimeField)
            else (lambda v: v),
        )
        for name in rows[0]
    ]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields))
    )
    params = []
    for row in rows:
        values = list(template)
        for (position, adapt), value in zip(varying, row.values()):
            values[position] = adapt(value)
        params.append(values)
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(params), batch):
            cursor.executemany(sql, params[start : start + batch])


def history_sql_ms(repeats: int = 5) -> dict:
    """In-process: the page query and the count query of GET /api/history, timed apart (best of N)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from history.selectors import history_list

    best = {}
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as ctx:
            history_list(limit=50)
        for label, q in zip(("page_query_ms", "count_query_ms"), ctx.captured_queries):
            best[label] = min(best.get(label, 1e9), round(float(q["time"]) * 1000, 2))
    return best


def seed(start: int, stop: int) -> None:
    """Records start..stop-1 of each kind (ids by number, created_at increasing)."""
    from memory.models import MemoryEntry
    from memory.services import memory_content_key
    from runs.models import Run
    from sessions.models import LiveSession

    runs = range(start // 2, stop // 2)
    insert_many(
        Run,
        [{"id": f"run_{i:032d}", "created_at": T0 + timedelta(seconds=2 * i)} for i in runs],
        {"scenario_id": "s", "auth_provider": "api-key", "model": "m", "status": Run.Status.SUCCEEDED},
    )
    insert_many(
        LiveSession,
        [{"id": f"ses_{i:032d}", "created_at": T0 + timedelta(seconds=2 * i + 1)} for i in runs],
        {"auth_provider": "api-key", "model": "m", "status": LiveSession.Status.CLOSED},
    )
    contents = [f"Seeded fact number {i} about the bench store." for i in range(start, stop)]
    insert_many(
        MemoryEntry,
        [
            {"content": c, "content_key": memory_content_key(c), "created_at": T0 + timedelta(seconds=i)}
            for i, c in zip(range(start, stop), contents)
        ],
        {"category": "fact"},
    )


def seed_target() -> None:
    from events.models import Event
    from runs.models import Run

    Run.objects.create(
        id=TARGET_RUN,
        scenario_id="s",
        auth_provider="api-key",
        model="m",
        status=Run.Status.SUCCEEDED,
        event_count=1000,
    )
    insert_many(
        Event,
        [{"seq": i, "created_at": T0 + timedelta(milliseconds=i)} for i in range(1, 1001)],
        {"owner_id": TARGET_RUN, "type": "message", "data": {"text": "A line the model said, about this long."}},
    )


def load(srv, name: str, make_request, requests: int, max_s: float) -> dict:
    """`requests` calls from CLIENTS threads (bounded by `max_s`); latency per call and throughput."""
    import httpx

    latencies, errors, lock = [], [], threading.Lock()
    counter = iter(range(requests))
    deadline = time.monotonic() + max_s

    def client_loop():
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
            make_request(client, -1)  # connection and warm-up
            for i in counter:
                if time.monotonic() > deadline:
                    return
                t = time.perf_counter()
                response = make_request(client, i)
                elapsed = time.perf_counter() - t
                with lock:
                    latencies.append(elapsed)
                    if response.status_code >= 400:
                        errors.append(response.status_code)

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        for f in [pool.submit(client_loop) for _ in range(CLIENTS)]:
            f.result()
    wall = time.perf_counter() - started
    return {
        "endpoint": name,
        "requests": len(latencies),
        "errors": len(errors),
        "rps": round(len(latencies) / wall, 1),
        **summary_ms(latencies, scale=1000),
    }


def endpoints(size: int):
    salt = f"{size}-{time.monotonic_ns()}"
    return [
        ("GET /api/history?limit=50", lambda c, i: c.get("/api/history", params={"limit": 50})),
        ("GET /api/runs/<id> (1,000 events)", lambda c, i: c.get(f"/api/runs/{TARGET_RUN}")),
        (
            "POST /api/memory",
            lambda c, i: c.post(
                "/api/memory",
                json={"content": f"Bench preference {salt} {i}: open files with the editor.", "category": "preference"},
            ),
        ),
    ]


def child(args) -> None:
    data_dir = setup_django(args.mode)
    from django.db import connection

    n = 150 if args.quick else 300
    rows = []
    srv = None
    try:
        seed_target()
        seeded = 0
        for size in SIZES:
            t = time.monotonic()
            seed(seeded, size)
            seeded = size
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            print(f"  api_load {args.mode}: seeded {size:,} records in {time.monotonic() - t:.1f} s", file=sys.stderr)
            sql = history_sql_ms()
            rows.append({"size": size, "endpoint": "history SQL (in-process, best of 5)", **sql})
            print(f"  api_load {args.mode} {size:,}: history SQL {sql}", file=sys.stderr)
            if srv is None:
                srv = server()
            for name, make in endpoints(size):
                rows.append({"size": size, **load(srv, name, make, n, 25)})
                print(f"  api_load {args.mode} {size:,}: {rows[-1]}", file=sys.stderr)
    finally:
        if srv:
            srv.stop()
        teardown_django(args.mode, data_dir)
    with open(args.out, "w") as handle:
        json.dump({"mode": args.mode, "clients": CLIENTS, "rows": rows}, handle)


def run(quick: bool = False, modes=("embedded", "scaled")) -> dict:
    results = run_children("api_load", modes, quick=quick, timeout_s=400)
    table = []
    for mode, res in results.items():
        by = {(r["size"], r["endpoint"]): r for r in res.get("rows", []) if "rps" in r}
        for r in res.get("rows", []):
            if "rps" not in r:
                table.append(
                    [
                        mode,
                        "history SQL page / count ms",
                        r["size"],
                        "",
                        "",
                        "",
                        r.get("page_query_ms"),
                        r.get("count_query_ms"),
                        "",
                    ]
                )
        for (size, endpoint), r in by.items():
            small = by.get((SIZES[0], endpoint))
            ratio = round(r["p50_ms"] / small["p50_ms"], 2) if small and size != SIZES[0] else None
            table.append([mode, endpoint, size, r["requests"], r["errors"], r["rps"], r["p50_ms"], r["p95_ms"], ratio])
            r["p50_ratio_vs_1000"] = ratio
        if "error" in res:
            table.append([mode, "error: " + res["error"]] + [""] * 7)
    print_table(
        f"API under load ({CLIENTS} client threads, loopback, Daphne)",
        ["mode", "endpoint", "records", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p50 x vs 1k"],
        table,
    )
    path = write_result(
        "api_load",
        {
            "what": "requests/s and latency per endpoint at 1,000 and 100,000 records",
            "target": "history at 100,000 within 1.5x of 1,000",
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
