"""Admission: `POST /api/runs` → the run's first event after `queued` (`running`), idle worker.

A real Celery worker (`tests/fixtures/worker.py`) on a real Xvfb desktop, the fake Responses server
answering "done" at once. Latency = the `running` event's `created_at` (written by the worker) minus
the moment the POST was sent, both on this machine's clock. Embedded: file broker (polled every
0.05 s). Scaled: Redis broker, PostgreSQL.

    .venv/bin/python -m bench.admission [--quick]
"""

from __future__ import annotations

import json
import sys
import time

from bench.common import (
    child_args,
    http_client,
    print_table,
    run_children,
    server,
    setup_django,
    summary_ms,
    teardown_django,
    write_result,
)


def child(args) -> None:
    import os

    data_dir = setup_django(args.mode)
    from events.models import Event
    from runs.models import Run
    from tests.fakes.openai_server import FakeOpenAI
    from tests.fixtures.desktop import start_desktop
    from tests.fixtures.worker import WorkerProcess, worker_env

    runs = 5 if args.quick else 10
    desktop = start_desktop(1280, 800)
    fake = FakeOpenAI().start()
    os.environ["OPENAI_API_KEY"] = "sk-bench-0123456789abcdef"
    worker = srv = None
    latencies, submit = [], []
    try:
        worker = WorkerProcess(worker_env(display_env=desktop.env, fake=fake)).start(timeout_s=60)
        srv = server({"OPENAI_BASE_URL": fake.api_base_url})
        with http_client(srv) as client:
            for i in range(runs + 1):
                fake.add_turn(fake.message("done"))
                sent = time.time()
                response = client.post("/api/runs", json={"scenarioId": "notepad-hello", "input": {"text": "hi"}})
                submit.append(time.time() - sent)
                assert response.status_code == 202, response.text
                run_id = response.json()["id"]
                deadline = time.monotonic() + 30
                running = None
                while time.monotonic() < deadline:
                    running = (
                        running or Event.objects.filter(owner_id=run_id, type="status", data__status="running").first()
                    )
                    if running and Run.objects.filter(pk=run_id, status__in=Run.TERMINAL).exists():
                        break
                    time.sleep(0.02)
                if running is None:
                    raise RuntimeError(f"{run_id} never ran:\n{worker.tail()}")
                if i:  # the first run warms the worker (imports, first connection)
                    latencies.append(running.created_at.timestamp() - sent)
                time.sleep(0.5)  # idle worker again
                print(
                    f"  admission {args.mode} run {i}: {(running.created_at.timestamp() - sent) * 1000:.0f} ms",
                    file=sys.stderr,
                )
    finally:
        if srv:
            srv.stop()
        if worker:
            worker.stop()
        fake.stop()
        desktop.stop()
        teardown_django(args.mode, data_dir)
    with open(args.out, "w") as handle:
        json.dump(
            {
                "mode": args.mode,
                "post_to_running": summary_ms(latencies, scale=1000),
                "post_response": summary_ms(submit, scale=1000),
            },
            handle,
        )


def run(quick: bool = False, modes=("embedded", "scaled")) -> dict:
    results = run_children("admission", modes, quick=quick, timeout_s=240)
    table = []
    for mode, res in results.items():
        if "error" in res:
            table.append([mode, "error: " + res["error"]] + [""] * 5)
            continue
        r, p = res["post_to_running"], res["post_response"]
        table.append([mode, r["n"], p["p50_ms"], r["p50_ms"], r["p95_ms"], r["max_ms"]])
    print_table(
        "Admission: POST /api/runs -> `running` event, idle worker (ms)",
        ["mode", "runs", "POST reply p50", "running p50", "running p95", "max"],
        table,
    )
    path = write_result("admission", {"what": "POST /api/runs sent -> running status event created", "modes": results})
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    a = child_args()
    if a.child:
        child(a)
    else:
        run(a.quick, a.modes.split(","))
