"""`manage.py eval` against the fake model server and a real worker: every shipped scenario run
through the normal machinery, once with the model and once as a replay, and the report it writes."""

import json
import re

import pytest
from django.core.management import CommandError, call_command

from runs.models import Run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

SHIPPED = [
    "disk-usage-report",
    "file-organiser",
    "form-fill",
    "notepad-hello",
    "screen-describe",
    "web-search",
    "web-sign-in",
]


@pytest.mark.desktop
def test_eval_reports_every_shipped_scenario_by_mode_and_every_run_is_in_the_history(
    api, celery_worker_process, model, editor, settings, tmp_path, capsys
):
    from tests.runs.test_autopilot_with_worker import centre

    settings.MODEL_PRICES = {"gpt-5.4": (1.25, 10.0)}
    x, y = centre(editor)
    # The model's turns, in the order eval runs them: scenario by scenario, "model" then "replay". Only
    # notepad-hello replays (the others did nothing on the screen, or only shell work, to replay).
    for scenario in SHIPPED:
        if scenario == "notepad-hello":
            model.add_turn(model.computer_call({"type": "screenshot"}))
            model.add_turn(model.computer_call({"type": "click", "x": x, "y": y}, {"type": "type", "text": "hello"}))
        model.add_turn(model.message(f"{scenario}: done."))
    inputs = tmp_path / "inputs.json"
    inputs.write_text(
        json.dumps(
            {
                "file-organiser": {"folder": str(tmp_path)},
                "form-fill": {"url": "http://127.0.0.1:9/form", "name": "Ann", "email": "ann@example.com"},
                "web-search": {"query": "deskhand"},
            }
        )
    )
    signin = 'web-sign-in={"url": "http://127.0.0.1:9/", "username": "ann", "password": "correct horse"}'

    call_command(
        "eval", "--runs", "1", "--mode", "model", "--mode", "replay", "--inputs", str(inputs), "--input", signin,
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    out, err = capsys.readouterr()

    report = json.loads(next((tmp_path / "out").glob("eval-*.json")).read_text())
    groups = {(g["scenario"], g["mode"]): g for g in report["groups"]}
    assert set(groups) == {(s, m) for s in SHIPPED for m in ("model", "replay")}
    for scenario in SHIPPED:
        by_model = groups[(scenario, "model")]
        assert (by_model["runs"], by_model["successRate"]) == (1, 1.0), (
            scenario,
            by_model,
            celery_worker_process.tail(),
        )
        assert by_model["modelCalls"] == (3 if scenario == "notepad-hello" else 1)
        assert by_model["tokens"] > 0 and by_model["costUsd"] > 0 and by_model["durationP50"] > 0
    replayed = groups[("notepad-hello", "replay")]
    assert (replayed["runs"], replayed["successRate"], replayed["modelCalls"], replayed["replayed"]) == (1, 1.0, 0, 1)
    assert replayed["costUsd"] == 0 and replayed["replayedSteps"] == 2
    skipped = groups[("screen-describe", "replay")]
    assert skipped["runs"] == 0 and "it did nothing on the screen" in skipped["skipped"]

    # Each run went through the normal machinery: all in the history, the passwords nowhere.
    assert {r["id"] for r in report["runs"]} == set(Run.objects.values_list("pk", flat=True))
    assert api.get("/api/history?kind=run").json()["total"] == 8
    assert "correct horse" not in json.dumps(report)

    # The console: progress while it runs, then the table and where the files are.
    assert re.search(r"\[\d+/14\] notepad-hello \(replay\) 1/1: run_\w+ succeeded in [\d.]+ s, 0 model calls", err)
    assert "not started: Nothing to replay: the newest succeeded run" in err
    assert re.search(r"notepad-hello\s+replay\s+1\s+100\s", out) and "HTML: " in out

    html = next((tmp_path / "out").glob("eval-*.html")).read_text()
    assert html.count("<svg") >= 4 and "notepad-hello" in html
    for outside in ("<script", "<style", "style=", "<link", 'src="http', "href="):
        assert outside not in html, outside


def test_eval_needs_a_worker_and_says_how_to_get_one(db, monkeypatch):
    # No machine heartbeats (whatever worker another test of this session left running).
    monkeypatch.setattr("runs.evaluation.workers_online", lambda: [])
    with pytest.raises(CommandError, match=r"No worker is running.*--start-worker"):
        call_command("eval", "--scenario", "notepad-hello", "--wait-for-worker", "0.3")
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--input", "form-fill={oops"], "--input form-fill: not JSON"),
        (["--input", "form-fill=[1]"], "expected SCENARIO={...}"),
        (["--runs", "0"], "--runs must be at least 1"),
        (["--scenario", "nope"], "No scenario nope"),
    ],
)
def test_eval_refuses_what_it_cannot_run_with_a_sentence(db, args, message):
    from django.utils import timezone

    from runs.models import Machine

    Machine.objects.create(name="somewhere", last_heartbeat=timezone.now())
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("eval", *args)
