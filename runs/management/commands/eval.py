"""`python manage.py eval`: run scenarios N times and report how they did (runs.evaluation)."""

import json
import sys
from contextlib import nullcontext
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from runs.evaluation import EvalError, eval_report, eval_run, eval_table, eval_write, worker_started
from runs.models import AuthProvider, RunMode


class Command(BaseCommand):
    help = (
        "Run scenarios N times through the normal run machinery (each run is in the history) and report per "
        "scenario and mode: success rate, duration p50/p95, model calls, tokens, cost; as a table, JSON and HTML. "
        "Needs a worker: `serve` (built in), `manage.py worker`, or --start-worker."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scenario", action="append", dest="scenarios", help="A scenario id (repeatable; default: every one)."
        )
        parser.add_argument("--runs", type=int, default=3, help="Runs of each scenario in each mode (default 3).")
        parser.add_argument(
            "--mode",
            action="append",
            dest="modes",
            choices=RunMode.values,
            help='model, replay or auto (repeatable, run in that order: "--mode model --mode replay" records, '
            "then compares the replays with it; default: model).",
        )
        parser.add_argument(
            "--input",
            action="append",
            dest="input_pairs",
            default=[],
            metavar="SCENARIO=JSON",
            help='A scenario\'s input, e.g. form-fill=\'{"url": "https://example.com", "name": "A", "email": "a@b.c"}\'.',
        )
        parser.add_argument("--inputs", type=Path, help="A JSON file: {scenario id: input}.")
        parser.add_argument("--provider", choices=AuthProvider.values, default=AuthProvider.API_KEY)
        parser.add_argument("--model", help="Default: DESKHAND_DEFAULT_MODEL.")
        parser.add_argument(
            "--out", type=Path, help="Where the JSON and HTML reports go (default: $DESKHAND_DATA_DIR/eval)."
        )
        parser.add_argument(
            "--start-worker", action="store_true", help="Start a worker for the evaluation (and stop it after)."
        )
        parser.add_argument(
            "--wait-for-worker",
            type=float,
            default=15.0,
            metavar="SECONDS",
            help="How long to wait for a worker to show up before giving up (default 15).",
        )

    def handle(self, *args, scenarios, runs, modes, input_pairs, inputs, provider, model, out, start_worker, **options):
        if runs < 1:
            raise CommandError("--runs must be at least 1.")
        modes = list(dict.fromkeys(modes or [RunMode.MODEL]))
        given = _inputs(input_pairs, inputs)

        def progress(line: str) -> None:
            self.stderr.write(line)
            sys.stderr.flush()

        try:
            with worker_started() if start_worker else nullcontext():
                groups = eval_run(
                    scenario_ids=scenarios,
                    modes=modes,
                    runs=runs,
                    inputs=given,
                    auth_provider=provider,
                    model=model,
                    progress=progress,
                    worker_wait_s=options["wait_for_worker"],
                )
        except EvalError as exc:
            raise CommandError(str(exc)) from exc
        report = eval_report(groups=groups, modes=modes, runs=runs)
        json_path, html_path = eval_write(report, out_dir=out or Path(settings.DATA_DIR) / "eval")
        self.stdout.write(eval_table(report))
        self.stdout.write(f"\nJSON: {json_path}\nHTML: {html_path}")


def _inputs(pairs: list[str], path: Path | None) -> dict[str, dict]:
    """{scenario id: input} from --inputs FILE, then each --input SCENARIO=JSON over it."""
    found: dict[str, dict] = {}
    if path is not None:
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"--inputs {path}: {exc}") from exc
        if not isinstance(found, dict) or not all(isinstance(v, dict) for v in found.values()):
            raise CommandError(f"--inputs {path}: expected a JSON object of scenario id -> input object.")
    for pair in pairs:
        scenario, _, text = pair.partition("=")
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"--input {scenario}: not JSON ({exc}).") from exc
        if not scenario or not isinstance(value, dict):
            raise CommandError(f"--input {pair!r}: expected SCENARIO={{...}} with a JSON object.")
        found[scenario] = value
    return found
