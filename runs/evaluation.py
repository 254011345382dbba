"""`manage.py eval`: scenarios run N times through the normal run machinery (each run is in the
history like any other), then a report per scenario and mode: success rate, duration p50/p95,
model calls, tokens and cost estimate, as a console table, JSON and an HTML page with charts.

The runs are created by `runs.services.run_create` and executed by whatever worker serves this
database: `serve`'s embedded one, `manage.py worker` processes, or one `eval --start-worker`
starts for the evaluation. One run at a time, so durations are not queueing time.
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from core.errors import AppError
from runs.execution.claims import stale_before
from runs.models import Machine, Run
from runs.serializers import RunSerializer
from runs.services import run_create, run_stop
from scenarios.catalog import load_catalog

# How often a run is looked at while it goes.
POLL_SECONDS = 0.25
# Over the scenario's own time limit, before eval gives up on a run and stops it.
GRACE_SECONDS = 60
MODE_COLOURS = {"model": "#1d4ed8", "replay": "#0e7490", "auto": "#7c3aed"}


class EvalError(Exception):
    """Eval cannot start (no worker, an unknown scenario); the message says what to do."""


@dataclass
class Group:
    """The runs of one scenario in one mode."""

    scenario: str
    title: str
    mode: str
    runs: list[dict] = field(default_factory=list)  # the run records (RunSerializer) as they ended
    skipped: str = ""  # why no (more) run of it was started


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile by nearest rank (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def seconds_of(record: dict) -> float | None:
    if not record.get("startedAt") or not record.get("finishedAt"):
        return None
    return (datetime.fromisoformat(record["finishedAt"]) - datetime.fromisoformat(record["startedAt"])).total_seconds()


# --- Running -------------------------------------------------------------------------------------


def workers_online() -> list[str]:
    return list(Machine.objects.filter(last_heartbeat__gte=stale_before()).values_list("name", flat=True))


@contextmanager
def worker_started(*, timeout_s: float = 60.0) -> Iterator[None]:
    """A `manage.py worker` of our own for the evaluation, on this database, stopped afterwards."""
    manage = Path(settings.BASE_DIR) / "manage.py"
    proc = subprocess.Popen(
        [sys.executable, str(manage), "worker", "--loglevel=WARNING"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DESKHAND_PROCESS_KIND": "worker"},
    )
    try:
        deadline = time.monotonic() + timeout_s
        while settings.MACHINE_NAME not in workers_online():
            if proc.poll() is not None:
                raise EvalError(f"The worker eval started exited with code {proc.returncode}; its output is above.")
            if time.monotonic() > deadline:
                raise EvalError(f"The worker eval started did not register within {timeout_s:.0f} s.")
            time.sleep(POLL_SECONDS)
        yield
    finally:
        if proc.poll() is None:
            proc.terminate()  # Celery's warm shutdown: the run in hand ends first
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def eval_run(
    *,
    scenario_ids: list[str] | None,
    modes: list[str],
    runs: int,
    inputs: dict[str, dict],
    auth_provider: str,
    model: str | None,
    progress: Callable[[str], None],
    worker_wait_s: float = 15.0,
) -> list[Group]:
    """Run each scenario `runs` times in each mode, one run at a time, in order: scenario by
    scenario, the modes in the order given (so "model" before "replay" records what is replayed).
    A worker that is starting (or registering again) is waited for up to `worker_wait_s`."""
    catalog = load_catalog()
    unknown = sorted(set(scenario_ids or ()) - set(catalog.scenarios))
    if unknown:
        raise EvalError(f"No scenario {', '.join(unknown)}; the catalog has {', '.join(sorted(catalog.scenarios))}.")
    deadline = time.monotonic() + worker_wait_s
    if not workers_online():
        progress(f"Waiting up to {worker_wait_s:g} s for a worker…")
    while not workers_online() and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    if not workers_online():
        raise EvalError(
            "No worker is running, so no run would start. Start `python manage.py serve` (it has a worker built "
            "in) or `python manage.py worker` in another terminal, or pass --start-worker."
        )
    scenarios = [catalog.scenarios[i] for i in (scenario_ids or sorted(catalog.scenarios))]
    total, done = len(scenarios) * len(modes) * runs, 0
    groups: list[Group] = []
    for scenario in scenarios:
        for mode in modes:
            group = Group(scenario.id, scenario.title, mode)
            groups.append(group)
            for number in range(1, runs + 1):
                label = f"{scenario.id} ({mode}) {number}/{runs}"
                try:
                    run = run_create(
                        scenario_id=scenario.id,
                        auth_provider=auth_provider,
                        model=model,
                        input=inputs.get(scenario.id, {}),
                        mode=mode,
                    )
                except AppError as exc:
                    group.skipped = exc.message
                    done += runs - number + 1
                    progress(f"[{done}/{total}] {label}: not started: {exc.message}")
                    break
                record = _until_finished(run, limit_s=scenario.timeout_seconds + GRACE_SECONDS)
                group.runs.append(record)
                done += 1
                took = seconds_of(record)
                progress(
                    f"[{done}/{total}] {label}: {run.pk} {record['status']}"
                    + (f" in {took:.1f} s" if took is not None else "")
                    + f", {record['modelCalls']} model call{'s' if record['modelCalls'] != 1 else ''}"
                    + (f", {record['replayedSteps']} steps replayed" if record["replayOf"] else "")
                )
    return groups


def _until_finished(run: Run, *, limit_s: float) -> dict:
    deadline = time.monotonic() + limit_s
    while True:
        run.refresh_from_db()
        if run.status in Run.TERMINAL:
            return dict(RunSerializer(run).data)
        if time.monotonic() > deadline and run.stop_requested_at is None:
            run_stop(run_id=run.pk)  # it counts as what it ends as (stopped)
        time.sleep(POLL_SECONDS)


# --- Reporting -----------------------------------------------------------------------------------


def _summary(group: Group) -> dict:
    records = group.runs
    count = len(records)
    succeeded = sum(1 for r in records if r["status"] == "succeeded")
    durations = [s for s in (seconds_of(r) for r in records) if s is not None]
    tokens = [int((r.get("usage") or {}).get("total_tokens") or 0) for r in records]
    costs = [r["costUsd"] for r in records if r.get("costUsd") is not None]
    calls = [int(r["modelCalls"]) for r in records]
    return {
        "scenario": group.scenario,
        "title": group.title,
        "mode": group.mode,
        "runs": count,
        "succeeded": succeeded,
        "successRate": round(succeeded / count, 3) if count else None,
        "statuses": dict(Counter(r["status"] for r in records)),
        "durationP50": _round(percentile(durations, 50)),
        "durationP95": _round(percentile(durations, 95)),
        "durationMean": _round(statistics.fmean(durations)) if durations else None,
        "modelCalls": sum(calls),
        "modelCallsPerRun": _round(statistics.fmean(calls)) if calls else None,
        "tokens": sum(tokens),
        "tokensPerRun": _round(statistics.fmean(tokens)) if tokens else None,
        # Only when every run has a price: a partial sum would look like the whole cost.
        "costUsd": round(sum(costs), 6) if costs and len(costs) == count else None,
        "replayed": sum(1 for r in records if r["replayOf"]),
        "replayedSteps": sum(int(r["replayedSteps"]) for r in records),
        "healed": sum(1 for r in records if r["divergedAtStep"] is not None),
        "skipped": group.skipped,
        "runIds": [r["id"] for r in records],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def eval_report(*, groups: list[Group], modes: list[str], runs: int) -> dict:
    return {
        "format": "deskhand-eval",
        "formatVersion": 1,
        "generatedAt": timezone.now().isoformat(),
        "machine": settings.MACHINE_NAME,
        "modes": modes,
        "runsPerScenario": runs,
        "groups": [_summary(group) for group in groups],
        "runs": [
            {
                "id": r["id"],
                "scenario": group.scenario,
                "mode": group.mode,
                "status": r["status"],
                "seconds": _round(seconds_of(r)),
                "modelCalls": r["modelCalls"],
                "tokens": int((r.get("usage") or {}).get("total_tokens") or 0),
                "costUsd": r.get("costUsd"),
                "replayOf": r["replayOf"],
                "replayedSteps": r["replayedSteps"],
                "divergedAtStep": r["divergedAtStep"],
            }
            for group in groups
            for r in group.runs
        ],
    }


TABLE_COLUMNS = ("scenario", "mode", "runs", "ok %", "p50 s", "p95 s", "calls/run", "tokens/run", "cost $", "replayed")


def eval_table(report: dict) -> str:
    """The report as a plain-text table for the console."""

    def cell(value, digits: int = 1) -> str:
        if value is None:
            return "-"
        return f"{value:,.{digits}f}" if isinstance(value, float) else str(value)

    rows = []
    for g in report["groups"]:
        if g["skipped"] and not g["runs"]:
            rows.append([g["scenario"], g["mode"], "0", f"not run: {g['skipped']}"])
            continue
        rate = None if g["successRate"] is None else 100 * g["successRate"]
        rows.append(
            [
                g["scenario"],
                g["mode"],
                str(g["runs"]),
                cell(rate, 0),
                cell(g["durationP50"]),
                cell(g["durationP95"]),
                cell(g["modelCallsPerRun"]),
                cell(g["tokensPerRun"], 0),
                cell(g["costUsd"], 4),
                f"{g['replayed']}/{g['runs']}" + (f" ({g['healed']} healed)" if g["healed"] else ""),
            ]
        )
    full = [r for r in rows if len(r) == len(TABLE_COLUMNS)]
    widths = [max([len(c), *(len(r[i]) for r in full)]) for i, c in enumerate(TABLE_COLUMNS)]

    def line(cells: list[str]) -> str:
        if len(cells) < len(TABLE_COLUMNS):  # a skipped group: its reason takes the rest of the line
            return "  ".join(
                [cells[0].ljust(widths[0]), cells[1].ljust(widths[1]), cells[2].rjust(widths[2]), cells[3]]
            )
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(list(TABLE_COLUMNS)), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def _bars(report: dict, key: str, *, scale: float = 1.0, fmt: str = "{:.1f}", extra_key: str | None = None) -> dict:
    """One chart: per scenario a bar per mode (and, with `extra_key`, a tick at that value), drawn
    with SVG attributes only (no style: the pages' Content-Security-Policy would refuse it)."""
    groups = [g for g in report["groups"] if g["runs"]]
    scenarios = list(dict.fromkeys(g["scenario"] for g in groups))
    modes = report["modes"]
    values = [g[key] * scale for g in groups if g[key] is not None]
    values += [g[extra_key] * scale for g in groups if extra_key and g[extra_key] is not None]
    top = max(values, default=0) or 1.0
    bar, gap, label_w, height = 18, 6, 170, 260
    row_h = len(modes) * (bar + 2) + gap
    chart_h = max(1, len(scenarios)) * row_h
    width = 640
    rows = []
    for index, scenario in enumerate(scenarios):
        y0 = 20 + index * row_h
        rows.append({"label": scenario, "x": label_w - 8, "y": y0 + (row_h - gap) / 2})
    shapes = []
    for g in groups:
        value = g[key]
        if value is None:
            continue
        index, position = scenarios.index(g["scenario"]), modes.index(g["mode"])
        y = 20 + index * row_h + position * (bar + 2)
        w = (width - label_w - 70) * value * scale / top
        shape = {
            "x": label_w,
            "y": y,
            "w": max(1.0, w),
            "h": bar,
            "y2": y + bar,
            "fill": MODE_COLOURS.get(g["mode"], "#6b7280"),
            "text": fmt.format(value * scale),
            "tx": label_w + max(1.0, w) + 4,
            "ty": y + bar - 5,
            "mode": g["mode"],
        }
        if extra_key and g[extra_key] is not None:
            shape["tick"] = label_w + (width - label_w - 70) * g[extra_key] * scale / top
            shape["text"] += " / " + fmt.format(g[extra_key] * scale)
        shapes.append(shape)
    return {"width": width, "height": max(height, chart_h + 30), "rows": rows, "bars": shapes}


def eval_html(report: dict) -> str:
    """A self-contained page: no script, no style sheet, no external file; charts in inline SVG."""
    charts = [
        ("Success rate (%)", _bars(report, "successRate", scale=100, fmt="{:.0f}")),
        ("Duration p50 / p95 (s): the bar is p50, the line p95", _bars(report, "durationP50", extra_key="durationP95")),
        ("Model calls per run", _bars(report, "modelCallsPerRun")),
        ("Tokens per run", _bars(report, "tokensPerRun", fmt="{:,.0f}")),
    ]
    legend = [{"mode": m, "fill": MODE_COLOURS.get(m, "#6b7280")} for m in report["modes"]]
    return render_to_string("runs/eval_report.html", {"report": report, "charts": charts, "legend": legend})


def eval_write(report: dict, *, out_dir: Path) -> tuple[Path, Path]:
    """The report as JSON and HTML files in `out_dir`; their paths."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    json_path, html_path = out_dir / f"eval-{stamp}.json", out_dir / f"eval-{stamp}.html"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    html_path.write_text(eval_html(report))
    return json_path, html_path
