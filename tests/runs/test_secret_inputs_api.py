"""A run's secret inputs through the API, without a worker: what is kept, shown and refused."""

import json

import pytest
from django.db import connection

from events.models import Event
from runs.models import Run, RunSecret
from runs.services import run_secrets_take

pytestmark = [pytest.mark.django_db]

SECRET = "Correct-Horse-Battery-7"


@pytest.fixture(autouse=True)
def no_enqueue(monkeypatch):
    from runs.tasks import run_execute_task

    monkeypatch.setattr(run_execute_task, "delay_on_commit", lambda run_id: None)


def start(api, password=SECRET):
    return api.post(
        "/api/runs",
        {"scenarioId": "type-secret", "authProvider": "api-key", "input": {"password": password}},
        format="json",
    )


def every_stored_row() -> str:
    """Every row of every table, as text."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        rows = []
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(rows)


def test_a_run_keeps_stars_and_a_placeholder_and_seals_the_value_apart(api, scenarios_dir):
    response = start(api)
    assert response.status_code == 202
    run = response.json()
    assert run["input"] == {"password": "***"}
    detail = api.get(f"/api/runs/{run['id']}")
    assert (
        detail.json()["instruction"] == "Click into the text editor and type <secret:password> exactly, nothing else."
    )
    for shown in (response.content, detail.content, api.get("/api/runs").content, api.get("/api/history").content):
        assert SECRET.encode() not in shown
    assert SECRET not in every_stored_row()
    assert RunSecret.objects.filter(run_id=run["id"]).exists()

    # The worker takes the value once; then it is gone from the database.
    assert run_secrets_take(run_id=run["id"]) == {"password": SECRET}
    assert not RunSecret.objects.exists()
    assert run_secrets_take(run_id=run["id"]) == {}


def test_a_refused_secret_is_not_repeated_in_the_error(api, scenarios_dir):
    response = start(api, password="too-short")
    assert response.status_code == 400
    body = response.json()
    assert body["details"]["field"] == "input.password"
    assert "too-short" not in json.dumps(body)
    assert body["message"] == "input.password: *** is too short"
    assert not Run.objects.exists() and not RunSecret.objects.exists()


def test_stopping_a_queued_run_drops_its_secrets(api, scenarios_dir):
    run = start(api).json()
    assert api.post(f"/api/runs/{run['id']}/stop").status_code in (200, 202)
    assert not RunSecret.objects.exists()


def test_the_sweep_drops_secrets_of_runs_that_ended_without_a_worker(api, scenarios_dir):
    from runs.services import runs_sweep

    run = start(api).json()
    Run.objects.filter(pk=run["id"]).update(status=Run.Status.INTERRUPTED)
    runs_sweep()
    assert not RunSecret.objects.exists()


def test_deleting_the_run_deletes_its_secrets(api, scenarios_dir):
    run = start(api).json()
    Run.objects.filter(pk=run["id"]).update(status=Run.Status.STOPPED)
    assert api.delete(f"/api/history/{run['id']}").status_code in (200, 204)
    assert not RunSecret.objects.exists()


def test_a_retry_asks_for_the_secret_again(api, scenarios_dir):
    run = start(api).json()
    Run.objects.filter(pk=run["id"]).update(status=Run.Status.FAILED)
    response = api.post(f"/api/runs/{run['id']}/retry")
    assert response.status_code == 409
    assert response.json()["code"] == "secret_inputs_gone"
    assert response.json()["details"] == {"fields": ["input.password"]}
    assert Run.objects.count() == 1
    assert not Event.objects.filter(data__icontains=SECRET).exists()
