"""The live-session endpoints through the test client: happy paths, bad input, unknown ids, wrong methods."""

import pytest

from events.services import event_append, screenshot_store
from runs.models import Machine
from sessions.models import LiveSession
from tests.sessions.conftest import create_session

pytestmark = [pytest.mark.django_db]


def test_it_creates_an_idle_session_and_records_a_status_event(api):
    session = create_session(api, authProvider="codex-oauth")
    assert session["id"].startswith("ses_")
    assert session["status"] == "idle" and session["authProvider"] == "codex-oauth" and session["model"] == "gpt-5.4"
    detail = api.get(f"/api/live-sessions/{session['id']}").json()
    assert [(e["type"], e["data"]["status"]) for e in detail["events"]] == [("status", "idle")]


def test_create_defaults_the_model_and_provider(api, settings):
    response = api.post("/api/live-sessions", {}, format="json")
    assert response.status_code == 201
    assert response.json()["model"] == settings.DEFAULT_MODEL and response.json()["authProvider"] == "api-key"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"authProvider": "password"}, "authProvider"),
        ({"model": ""}, "model"),
        ({"modle": "gpt-5.4"}, "modle"),
    ],
)
def test_create_refuses_bad_input_and_names_the_field(api, body, field):
    response = api.post("/api/live-sessions", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input" and response.json()["message"].startswith(field)


def test_it_lists_sessions_newest_first_with_a_total(api):
    first, second = create_session(api), create_session(api)
    listing = api.get("/api/live-sessions").json()
    assert [s["id"] for s in listing["items"][:2]] == [second["id"], first["id"]] and listing["total"] == 2
    assert api.get("/api/live-sessions?limit=1").json()["items"][0]["id"] == second["id"]
    assert api.get("/api/live-sessions?limit=0").status_code == 400
    assert api.get("/api/live-sessions?status=sleeping").status_code == 400


def test_get_returns_the_full_event_history_with_screenshot_urls(api):
    session = create_session(api)
    shot = screenshot_store(owner_id=session["id"], data=b"\x89PNG...", mime="image/png", width=4, height=3)
    event_append(owner_id=session["id"], type="screenshot", data={"ref": shot.pk, "width": 4, "height": 3})
    events = api.get(f"/api/live-sessions/{session['id']}").json()["events"]
    assert [e["seq"] for e in events] == [1, 2]
    assert events[1]["data"]["url"] == f"/api/screenshots/{shot.pk}"
    assert api.get(events[1]["data"]["url"]).status_code == 200


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", ""),
        ("post", "/commands"),
        ("post", "/confirm"),
        ("post", "/stop"),
        ("post", "/observe"),
        ("post", "/close"),
    ],
)
def test_an_unknown_session_is_404(api, method, path):
    body = {"instruction": "x"} if path == "/commands" else {"choice": "confirmed"} if path == "/confirm" else None
    response = getattr(api, method)(f"/api/live-sessions/ses_nope{path}", body, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("method, path", [("delete", ""), ("put", ""), ("get", "/commands"), ("get", "/stop")])
def test_wrong_methods_are_405(api, method, path):
    session = create_session(api)
    response = getattr(api, method)(f"/api/live-sessions/{session['id']}{path}")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_every_endpoint_needs_the_token(anonymous):
    assert anonymous.get("/api/live-sessions").status_code == 401
    assert anonymous.post("/api/live-sessions", {}, format="json").status_code == 401


def test_a_command_is_accepted_with_202_and_the_session_executes(api):
    session = create_session(api)
    response = api.post(
        f"/api/live-sessions/{session['id']}/commands", {"instruction": "type hello in the editor"}, format="json"
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "executing" and body["commandCount"] == 1
    assert body["command"]["instruction"] == "type hello in the editor" and body["command"]["status"] == "queued"
    assert body["title"] == "type hello in the editor"
    machine = Machine.objects.get(desktop_holder=session["id"])
    assert body["machine"] == machine.name
    events = api.get(f"/api/live-sessions/{session['id']}").json()["events"]
    assert [e["type"] for e in events] == ["status", "status", "message"]
    assert events[2]["data"]["text"] == "type hello in the editor" and events[2]["data"]["role"] == "user"


def test_a_second_command_while_one_executes_is_409(api):
    session = create_session(api)
    url = f"/api/live-sessions/{session['id']}/commands"
    assert api.post(url, {"instruction": "first"}, format="json").status_code == 202
    response = api.post(url, {"instruction": "second"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "session_busy"


def test_a_command_while_a_confirmation_is_pending_is_409(api):
    session = create_session(api)
    LiveSession.objects.filter(pk=session["id"]).update(status="waiting_confirmation")
    response = api.post(f"/api/live-sessions/{session['id']}/commands", {"instruction": "x"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "waiting_confirmation"
    assert "/confirm" in response.json()["message"]


def test_a_command_while_a_run_drives_the_desktop_is_409(api, settings):
    Machine.objects.create(name=settings.MACHINE_NAME, desktop_holder="run_busy")
    session = create_session(api)
    response = api.post(f"/api/live-sessions/{session['id']}/commands", {"instruction": "x"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "desktop_busy"
    assert "run_busy" in response.json()["message"]
    assert LiveSession.objects.get(pk=session["id"]).status == "idle"  # the claim was rolled back


@pytest.mark.parametrize(
    "body, names",
    [
        ({"text": "type hello"}, "instruction"),
        ({}, "instruction"),
        ({"instruction": "   "}, "instruction"),
        ({"instruction": "x", "authProvider": "nope"}, "authProvider"),
        ({"instruction": 5}, "instruction"),
    ],
)
def test_a_bad_command_body_is_400_and_names_the_field(api, body, names):
    session = create_session(api)
    response = api.post(f"/api/live-sessions/{session['id']}/commands", body, format="json")
    assert response.status_code == 400, response.content
    assert names in response.json()["message"]
    assert LiveSession.objects.get(pk=session["id"]).status == "idle"


def test_a_command_body_that_is_not_json_is_415(api):
    session = create_session(api)
    response = api.post(
        f"/api/live-sessions/{session['id']}/commands",
        "instruction=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415


@pytest.mark.parametrize("choice", ["yes", "", None, "CONFIRMED"])
def test_confirm_refuses_anything_but_confirmed_or_declined(api, choice):
    session = create_session(api)
    response = api.post(f"/api/live-sessions/{session['id']}/confirm", {"choice": choice}, format="json")
    assert response.status_code == 400 and "choice" in response.json()["message"]


def test_confirm_with_nothing_pending_is_409(api):
    session = create_session(api)
    response = api.post(f"/api/live-sessions/{session['id']}/confirm", {"choice": "confirmed"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "no_pending_confirmation"


def test_stop_with_nothing_executing_is_409(api):
    session = create_session(api)
    response = api.post(f"/api/live-sessions/{session['id']}/stop")
    assert response.status_code == 409 and response.json()["code"] == "not_executing"


def test_stopping_a_command_no_worker_picked_up_ends_it_at_once_and_frees_the_desktop(api):
    session = create_session(api)
    api.post(f"/api/live-sessions/{session['id']}/commands", {"instruction": "x"}, format="json")
    response = api.post(f"/api/live-sessions/{session['id']}/stop")
    assert response.status_code == 202 and response.json()["status"] == "idle"
    assert response.json()["command"]["status"] == "stopped"
    assert not Machine.objects.exclude(desktop_holder="").exists()
    again = api.post(f"/api/live-sessions/{session['id']}/commands", {"instruction": "next"}, format="json")
    assert again.status_code == 202


def test_closing_ends_the_session_and_refuses_further_commands(api):
    session = create_session(api)
    api.post(f"/api/live-sessions/{session['id']}/commands", {"instruction": "x"}, format="json")
    response = api.post(f"/api/live-sessions/{session['id']}/close")
    assert response.status_code == 200 and response.json()["status"] == "closed" and response.json()["closedAt"]
    assert not Machine.objects.exclude(desktop_holder="").exists()
    assert api.post(f"/api/live-sessions/{session['id']}/close").status_code == 200  # idempotent
    refused = api.post(f"/api/live-sessions/{session['id']}/commands", {"instruction": "y"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "session_closed"
    assert api.post(f"/api/live-sessions/{session['id']}/observe").status_code == 409
    events = api.get(f"/api/live-sessions/{session['id']}").json()["events"]
    assert events[-1]["type"] == "status" and events[-1]["data"]["status"] == "closed"


def test_a_command_whose_worker_went_silent_is_swept_interrupted_and_the_session_takes_the_next(api, settings):
    from django.utils import timezone

    session = create_session(api)
    api.post(f"/api/live-sessions/{session['id']}/commands", {"instruction": "x"}, format="json")
    old = timezone.now() - timezone.timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS + 5)
    LiveSession.objects.filter(pk=session["id"]).update(heartbeat_at=old, updated_at=old)
    detail = api.get(f"/api/live-sessions/{session['id']}").json()
    assert detail["status"] == "interrupted" and "heartbeat" in detail["statusReason"]
    assert not Machine.objects.exclude(desktop_holder="").exists()
    assert (
        api.post(f"/api/live-sessions/{session['id']}/commands", {"instruction": "y"}, format="json").status_code == 202
    )


def test_observe_without_a_display_is_503_with_a_clear_message(api, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    session = create_session(api)
    response = api.post(f"/api/live-sessions/{session['id']}/observe")
    assert response.status_code == 503 and response.json()["code"] == "display_unavailable"
    assert "DISPLAY" in response.json()["message"]


def test_the_schema_documents_every_session_endpoint(api):
    schema = api.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in (
        "/api/live-sessions",
        "/api/live-sessions/{session_id}",
        "/api/live-sessions/{session_id}/commands",
        "/api/live-sessions/{session_id}/confirm",
        "/api/live-sessions/{session_id}/stop",
        "/api/live-sessions/{session_id}/observe",
        "/api/live-sessions/{session_id}/close",
    ):
        assert path in paths, path
    for stream in ("events", "screen-stream"):
        assert (
            "text/event-stream"
            in paths[f"/api/live-sessions/{{session_id}}/{stream}"]["get"]["responses"]["200"]["content"]
        )
