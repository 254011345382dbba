"""A typed client in two lines (README, "A typed client"): openapi-python-client generates one from
the schema without a warning, and the generated client reads the live server's real answers into
its typed models (a run, its detail with events, the history's mixed items)."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.fixtures.server import ROOT, AsgiServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture
def client_server(tmp_path):
    server = AsgiServer({"DESKHAND_DATA_DIR": str(tmp_path / "data"), "DISPLAY": ""})
    yield server
    server.stop()


@pytest.fixture
def generated_client(tmp_path):
    schema = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(schema))
    # The generator formats what it writes with ruff, which it finds on PATH (our venv has it).
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(schema),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "deskhand_client"),
            "--config",
            str(ROOT / "docs" / "openapi-python-client.yaml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("deskhand_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == "deskhand_client"]:
            del sys.modules[name]


def test_the_generated_client_reads_real_answers_into_its_models(generated_client, client_server):
    def operation(name: str):
        return importlib.import_module(f"deskhand_client.api.{name}")

    models = importlib.import_module("deskhand_client.models")
    client = generated_client.AuthenticatedClient(base_url=client_server.url, token=settings.API_TOKEN)

    body = models.RunCreateInputRequest.from_dict({"scenarioId": "notepad-hello", "input": {"text": "hi"}})
    created = operation("runs.runs_create").sync(client=client, body=body)
    assert isinstance(created, models.Run)
    assert created.status == models.RunStatusEnum.QUEUED and created.input_["text"] == "hi"

    detail = operation("runs.runs_retrieve").sync(client=client, run_id=created.id)
    assert isinstance(detail, models.RunDetail)
    assert [event.type_ for event in detail.events] == [models.EventTypeEnum.STATUS]

    page = operation("history.history_list").sync(client=client, limit=10)
    assert isinstance(page, models.HistoryPage)
    assert page.total == 1 and isinstance(page.items[0], models.Run) and page.items[0].id == created.id

    missing = operation("runs.runs_retrieve").sync_detailed(client=client, run_id="run_missing")
    assert missing.status_code == 404 and missing.parsed.code == "not_found"
