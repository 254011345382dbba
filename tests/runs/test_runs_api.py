"""The runs API without a worker: validation, listing, reading, stop/retry rules, errors."""

import pytest
from django.utils import timezone

from events.models import Event
from runs.models import Run

pytestmark = [pytest.mark.django_db, pytest.mark.portable, pytest.mark.usefixtures("no_enqueue", "machine_online")]


def post(api, body):
    return api.post("/api/runs", body, format="json")


def test_it_starts_a_run_queued_with_the_default_model_and_enqueues_it(api, no_enqueue, scenarios_dir):
    response = post(api, {"scenarioId": "with-form", "authProvider": "codex-oauth", "input": {"email": "a@b.c"}})
    assert response.status_code == 202
    run = response.json()
    assert run["status"] == "queued" and run["model"] == "gpt-5.4" and run["authProvider"] == "codex-oauth"
    assert run["input"] == {"email": "a@b.c", "count": 1}  # defaults filled in
    assert run["retryOf"] is None and run["retries"] == [] and run["createdAt"]
    assert no_enqueue == [run["id"]]
    detail = api.get(f"/api/runs/{run['id']}").json()
    assert detail["instruction"] == "Send 1 messages to a@b.c"
    assert [(e["type"], e["data"]) for e in detail["events"]] == [("status", {"status": "queued"})]


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "scenarioId"),
        ({"scenarioId": "no-such-scenario"}, "scenarioId"),
        ({"scenarioId": "with-form", "authProvider": "password"}, "authProvider"),
        ({"scenarioId": "with-form", "input": "email"}, "input"),
        ({"scenarioId": "with-form", "input": {}}, "input.email"),
        ({"scenarioId": "with-form", "input": {"email": "nope"}}, "input.email"),
        ({"scenarioId": "with-form", "input": {"email": "a@b", "count": 9}}, "input.count"),
        ({"scenarioId": "with-form", "input": {"email": "a@b", "count": "2"}}, "input.count"),
        ({"scenarioId": "with-form", "input": {"email": "a@b", "extra": 1}}, "input"),
        ({"scenarioId": "with-form", "input": {"email": "a@b"}, "scenario": "x"}, "scenario"),
        ({"scenarioId": "with-form", "input": {"email": "a@b"}, "model": ""}, "model"),
    ],
)
def test_bad_input_is_refused_with_an_error_naming_the_field(api, no_enqueue, scenarios_dir, body, field):
    response = post(api, body)
    assert response.status_code == 400, response.json()
    error = response.json()
    assert error["code"] == "invalid_input" and error["details"]["field"] == field
    assert error["message"].startswith(field)
    assert no_enqueue == [] and not Run.objects.exists()


def test_a_body_that_is_not_json_is_refused(api, scenarios_dir):
    response = api.post("/api/runs", "scenarioId=notepad-hello", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    broken = api.post("/api/runs", "{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.json()["code"] == "invalid_json"


def test_every_runs_endpoint_needs_the_api_token(anonymous):
    for method, path in [
        ("get", "/api/runs"),
        ("post", "/api/runs"),
        ("get", "/api/runs/run_x"),
        ("post", "/api/runs/run_x/stop"),
        ("post", "/api/runs/run_x/retry"),
        ("get", "/api/runs/run_x/events"),
        ("get", "/api/runs/run_x/replay"),
    ]:
        assert getattr(anonymous, method)(path).status_code == 401, path


def test_unknown_runs_are_404_everywhere(api):
    for method, path in [
        ("get", "/api/runs/run_missing"),
        ("post", "/api/runs/run_missing/stop"),
        ("post", "/api/runs/run_missing/retry"),
        ("get", "/api/runs/run_missing/replay"),
        ("get", "/api/runs/run_missing/events"),
    ]:
        response = getattr(api, method)(path)
        assert response.status_code == 404 and response.json()["code"] == "not_found", path


def test_wrong_methods_are_405(api):
    run = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m")
    assert api.delete("/api/runs").status_code == 405
    assert api.put(f"/api/runs/{run.id}", {}, format="json").status_code == 405
    assert api.get(f"/api/runs/{run.id}/stop").status_code == 405
    assert api.get(f"/api/runs/{run.id}/retry").status_code == 405
    assert api.post(f"/api/runs/{run.id}/replay").status_code == 405


def test_the_list_is_newest_first_paginated_and_filtered_by_status(api):
    now = timezone.now()
    made = [
        Run.objects.create(
            scenario_id="x",
            auth_provider="api-key",
            model="m",
            status="failed" if n % 2 else "succeeded",
            created_at=now - timezone.timedelta(minutes=n),
        )
        for n in range(5)
    ]
    page = api.get("/api/runs?limit=2&offset=1").json()
    assert page["total"] == 5 and [r["id"] for r in page["items"]] == [made[1].id, made[2].id]
    failed = api.get("/api/runs?status=failed").json()
    assert [r["id"] for r in failed["items"]] == [made[1].id, made[3].id]
    for bad in ("status=done", "limit=0", "limit=201", "offset=-1", "limit=x"):
        response = api.get(f"/api/runs?{bad}")
        assert response.status_code == 400 and response.json()["code"] == "invalid_input", bad


def test_stopping_a_queued_run_stops_it_at_once(api, no_enqueue, scenarios_dir):
    run = post(api, {"scenarioId": "shell-task"}).json()
    response = api.post(f"/api/runs/{run['id']}/stop")
    assert response.status_code == 202 and response.json()["status"] == "stopped"
    events = api.get(f"/api/runs/{run['id']}").json()["events"]
    assert [e["data"] for e in events if e["type"] == "status"][-1]["status"] == "stopped"


def test_stopping_a_running_run_shows_stopping_and_twice_is_the_same(api):
    from django.utils import timezone

    run = Run.objects.create(
        scenario_id="x", auth_provider="api-key", model="m", status="running", heartbeat_at=timezone.now()
    )
    first = api.post(f"/api/runs/{run.id}/stop")
    assert first.status_code == 202 and first.json()["status"] == "stopping" and first.json()["stopRequestedAt"]
    again = api.post(f"/api/runs/{run.id}/stop").json()
    assert again["status"] == "stopping" and again["stopRequestedAt"] == first.json()["stopRequestedAt"]
    statuses = [e.data["status"] for e in Event.objects.filter(owner_id=run.id, type="status")]
    assert statuses == ["stopping"]


def test_stopping_a_run_whose_worker_is_gone_ends_it_at_once(api):
    from django.utils import timezone

    long_ago = timezone.now() - timezone.timedelta(minutes=5)
    run = Run.objects.create(
        scenario_id="x", auth_provider="api-key", model="m", status="running", heartbeat_at=long_ago
    )
    response = api.post(f"/api/runs/{run.id}/stop")
    assert response.status_code == 202 and response.json()["status"] == "stopped"
    assert "no longer running" in response.json()["statusReason"]
    assert api.delete(f"/api/history/{run.id}").status_code < 300  # no longer active


@pytest.mark.parametrize("action", ["pause", "resume"])
@pytest.mark.parametrize("status", ["queued", "succeeded", "failed", "stopped", "interrupted"])
def test_pausing_or_resuming_a_run_that_is_not_running_is_a_conflict(api, action, status):
    run = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", status=status)
    response = api.post(f"/api/runs/{run.id}/{action}")
    assert response.status_code == 409 and response.json()["code"] in ("not_running", "not_paused")
    assert Run.objects.get(pk=run.pk).pause_requested_at is None


def test_pause_and_resume_set_and_clear_the_request(api):
    run = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", status="running")
    assert api.post(f"/api/runs/{run.id}/resume").status_code == 409  # not paused
    paused = api.post(f"/api/runs/{run.id}/pause")
    assert paused.status_code == 202 and Run.objects.get(pk=run.pk).pause_requested_at is not None
    assert api.post(f"/api/runs/{run.id}/pause").status_code == 202  # the same request again
    assert api.post(f"/api/runs/{run.id}/resume").status_code == 202
    assert Run.objects.get(pk=run.pk).pause_requested_at is None
    assert api.get(f"/api/runs/{run.id}/pause").status_code == 405
    assert api.post("/api/runs/run_nope/pause").status_code == 404


@pytest.mark.parametrize("status", ["succeeded", "failed", "stopped", "interrupted"])
def test_stopping_a_finished_run_is_a_conflict(api, status):
    run = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", status=status)
    response = api.post(f"/api/runs/{run.id}/stop")
    assert response.status_code == 409 and response.json()["code"] == "run_finished"
    assert status in response.json()["message"]


def test_retrying_a_run_that_is_still_active_is_a_conflict(api):
    run = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", status="running")
    response = api.post(f"/api/runs/{run.id}/retry")
    assert response.status_code == 409 and response.json()["code"] == "run_active"


def test_a_retry_keeps_the_scenario_as_it_was_even_if_the_file_changed(api, no_enqueue, scenarios_dir):
    original = post(api, {"scenarioId": "shell-task", "input": {"what": "ls"}}).json()
    Run.objects.filter(pk=original["id"]).update(status="failed")
    (scenarios_dir / "shell-task.yaml").unlink()
    retry = api.post(f"/api/runs/{original['id']}/retry").json()
    assert retry["retryOf"] == original["id"] and retry["instruction"] == "Do this in the shell: ls"
    assert api.get(f"/api/runs/{original['id']}").json()["retries"] == [retry["id"]]


def test_the_replay_of_a_run_without_screenshots_is_still_a_valid_archive(api):
    import io
    import json
    import zipfile

    run = Run.objects.create(
        scenario_id="x",
        auth_provider="api-key",
        model="m",
        status="failed",
        error="sk-abcdefghijklmnopqrstuvwx leaked?",
    )
    archive = zipfile.ZipFile(io.BytesIO(api.get(f"/api/runs/{run.id}/replay").content))
    assert set(archive.namelist()) == {"manifest.json", "events.jsonl", "index.html"}
    manifest = archive.read("manifest.json").decode()
    assert json.loads(manifest)["run"]["id"] == run.id and "sk-abcdefghij" not in manifest


def test_a_missing_api_key_fails_the_run_with_an_error_that_says_what_to_do(api, settings, scenarios_dir):
    from runs.services import run_execute

    settings.OPENAI_API_KEY = ""
    run = post(api, {"scenarioId": "shell-task"}).json()
    assert run_execute(run_id=run["id"]) == "failed"
    record = api.get(f"/api/runs/{run['id']}").json()
    assert record["status"] == "failed" and "OPENAI_API_KEY" in record["error"]
    error = next(e for e in record["events"] if e["type"] == "error")
    assert error["data"]["code"] == "auth_missing" and "codex-oauth" in error["data"]["message"]
    assert [e["data"]["status"] for e in record["events"] if e["type"] == "status"] == ["queued", "running", "failed"]


def test_the_api_schema_describes_the_runs_endpoints_and_the_stream(api, settings):
    schema = api.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in (
        "/api/scenarios",
        "/api/runs",
        "/api/runs/{run_id}",
        "/api/runs/{run_id}/stop",
        "/api/runs/{run_id}/retry",
        "/api/runs/{run_id}/events",
        "/api/runs/{run_id}/replay",
    ):
        assert path in paths, path
    assert "text/event-stream" in paths["/api/runs/{run_id}/events"]["get"]["responses"]["200"]["content"]
    assert "application/zip" in paths["/api/runs/{run_id}/replay"]["get"]["responses"]["200"]["content"]
