"""A password input end to end: the real worker types it into the real editor, and nothing that
Deskhand stores, streams, replays, logs or sends to the model holds it."""

import io
import logging
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from agent.computer import get_computer
from tests.fixtures.server import read_sse
from tests.runs.test_secret_inputs_api import every_stored_row

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

SECRET = "Correct-Horse-Battery-7"
TERMINAL = {"succeeded", "failed", "stopped", "interrupted"}


def files_holding(folder: Path, needle: str) -> list[str]:
    """Files under `folder` that contain `needle`, found by grep in its own process: a process that
    opens and closes a SQLite database file drops its own locks on it (POSIX advisory locks), and
    this test process has the database open."""
    found = subprocess.run(
        ["grep", "-rlF", "--binary-files=text", "-e", needle, str(folder)], capture_output=True, text=True
    )
    assert found.returncode in (0, 1), found.stderr
    return found.stdout.split()


@pytest.mark.desktop
@pytest.mark.scaled
def test_a_password_input_is_typed_for_real_and_kept_nowhere(
    api, celery_worker_process, model, editor, asgi_server, scenarios_dir
):
    window = next(w for w in get_computer().windows() if editor.title_hint in w["title"])
    x, y = window["x"] + window["width"] // 2, window["y"] + window["height"] // 2
    # The model types the placeholder its instruction gave it; the worker types the value.
    model.add_turn(
        model.computer_call({"type": "click", "x": x, "y": y}, {"type": "type", "text": "<secret:password>"})
    )
    model.add_turn(model.message("I typed the password into the editor."))

    response = api.post(
        "/api/runs",
        {"scenarioId": "type-secret", "authProvider": "api-key", "input": {"password": SECRET}},
        format="json",
    )
    assert response.status_code == 202
    run = response.json()
    assert run["input"] == {"password": "***"}

    with asgi_server.client() as client, client.stream("GET", f"/api/runs/{run['id']}/events") as stream:
        messages = read_sse(stream, until=lambda m: m["event"] == "status" and m["data"]["data"]["status"] in TERMINAL)
    assert messages[-1]["data"]["data"]["status"] == "succeeded", celery_worker_process.tail()
    typed = [
        m["data"]["data"] for m in messages if m["event"] == "computer_action" and m["data"]["data"]["type"] == "type"
    ]
    assert typed == [{"call_id": typed[0]["call_id"], "type": "type", "source": "model", "text": "<secret:password>"}]

    # Typed for real: the editor itself saves what it received (asked again until it has: a save
    # that overtakes the editor's handling of the paste writes the file before the text is in it).
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and editor.path.read_text() != SECRET:
        get_computer().keypress(["CTRL", "S"])
        time.sleep(0.5)
    assert editor.path.read_text() == SECRET

    # The model never got it.
    sent = repr([request.body for request in model.requests])
    assert "<secret:password>" in sent and SECRET not in sent

    # Nothing shown or stored has it: the API, the stream, the replay, every row, every file of the
    # data dir (database, logs, screenshots, broker messages), the worker's output.
    record = api.get(f"/api/runs/{run['id']}")
    replay = api.get(f"/api/runs/{run['id']}/replay")
    assert replay.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(replay.content))
    unpacked = b"".join(archive.read(name) for name in archive.namelist())
    for shown in (record.content, api.get("/api/history").content, repr(messages).encode(), unpacked):
        assert SECRET.encode() not in shown
    assert SECRET not in every_stored_row()
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert files_holding(Path(settings.DATA_DIR), SECRET) == []
    assert SECRET not in celery_worker_process.tail(chars=10**7)
