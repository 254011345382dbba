"""The unified history: runs and live sessions in one list, one record, deletion."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage

from events.models import Event, Screenshot
from events.services import event_append, screenshot_store
from runs.models import Run
from sessions.models import LiveSession

pytestmark = [pytest.mark.django_db, pytest.mark.scaled, pytest.mark.portable]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def run(minutes, **fields):
    values = {
        "scenario_id": "notepad-hello",
        "auth_provider": "api-key",
        "model": "gpt-5.4",
        "status": Run.Status.SUCCEEDED,
        "created_at": T0 + timedelta(minutes=minutes),
    }
    return Run.objects.create(**{**values, **fields})


def session(minutes, **fields):
    values = {
        "auth_provider": "codex-oauth",
        "model": "gpt-5.4",
        "status": LiveSession.Status.IDLE,
        "created_at": T0 + timedelta(minutes=minutes),
    }
    return LiveSession.objects.create(**{**values, **fields})


def test_it_merges_runs_and_sessions_newest_first(api):
    oldest = run(0, title="Say hello", started_at=T0, finished_at=T0 + timedelta(minutes=1), event_count=4)
    middle = session(
        1,
        title="Check the weather",
        command_count=2,
        event_count=7,
        closed_at=T0 + timedelta(minutes=9),
        status=LiveSession.Status.CLOSED,
    )
    newest = run(2, instruction="Open the calculator", status=Run.Status.QUEUED)

    body = api.get("/api/history").json()

    assert body["total"] == 3 and body["limit"] == 50 and body["offset"] == 0
    assert [(i["kind"], i["id"]) for i in body["items"]] == [
        ("run", newest.id),
        ("session", middle.id),
        ("run", oldest.id),
    ]
    first, second, third = body["items"]
    assert first["title"] == "Open the calculator" and first["status"] == "queued"
    assert first["startedAt"] is None and first["finishedAt"] is None and first["endedAt"] is None
    # Each item is the record in its own shape: exactly what the run or live-session endpoint shows.
    assert second == {k: v for k, v in api.get(f"/api/live-sessions/{middle.id}").json().items() if k != "events"}
    assert first == {
        k: v for k, v in api.get(f"/api/runs/{newest.id}").json().items() if k not in ("events", "scenario")
    }
    assert second["kind"] == "session" and second["title"] == "Check the weather" and second["status"] == "closed"
    assert second["createdAt"] == second["startedAt"] == middle.created_at.isoformat()
    assert second["endedAt"] == second["closedAt"] == (T0 + timedelta(minutes=9)).isoformat()
    assert second["eventCount"] == 7 and second["commandCount"] == 2 and second["authProvider"] == "codex-oauth"
    assert second["links"]["events"] == f"/api/live-sessions/{middle.id}/events"
    assert third["title"] == "Say hello" and third["scenarioId"] == "notepad-hello"
    assert third["finishedAt"] == (T0 + timedelta(minutes=1)).isoformat() and third["eventCount"] == 4


def test_a_run_without_title_or_instruction_is_titled_by_its_scenario(api):
    run(0, scenario_id="web-search")
    session(1)
    items = api.get("/api/history").json()["items"]
    assert [i["title"] for i in items] == ["Live session", "web-search"]


def test_pages_are_exact_across_the_merge(api):
    expected = []
    for n in range(25):
        record = run(n) if n % 3 else session(n)
        expected.append(record.id)
    expected.reverse()
    seen = []
    for offset in range(0, 25, 7):
        body = api.get(f"/api/history?limit=7&offset={offset}").json()
        assert body["total"] == 25
        seen += [i["id"] for i in body["items"]]
    assert seen == expected
    assert api.get("/api/history?offset=25").json()["items"] == []


def test_records_created_at_the_same_moment_have_a_stable_order(api):
    ids = [run(0).id for _ in range(3)] + [session(0).id for _ in range(3)]
    first = [i["id"] for i in api.get("/api/history?limit=3").json()["items"]]
    second = [i["id"] for i in api.get("/api/history?limit=3&offset=3").json()["items"]]
    assert sorted(first + second) == sorted(ids) and len(set(first + second)) == 6


def test_it_filters_by_kind(api):
    a = run(0)
    b = session(1)
    assert [i["id"] for i in api.get("/api/history?kind=run").json()["items"]] == [a.id]
    body = api.get("/api/history?kind=session").json()
    assert [i["id"] for i in body["items"]] == [b.id] and body["total"] == 1


def test_it_filters_by_status_across_both_kinds(api):
    failed = run(0, status=Run.Status.FAILED)
    run(1)
    interrupted_run = run(2, status=Run.Status.INTERRUPTED)
    interrupted_session = session(3, status=LiveSession.Status.INTERRUPTED)
    assert [i["id"] for i in api.get("/api/history?status=failed").json()["items"]] == [failed.id]
    body = api.get("/api/history?status=interrupted").json()
    assert [i["id"] for i in body["items"]] == [interrupted_session.id, interrupted_run.id]
    assert api.get("/api/history?status=idle&kind=session").json()["total"] == 0


def test_it_filters_by_date(api):
    run(0)
    inside = session(60 * 24)  # the next day
    run(60 * 48)
    body = api.get("/api/history?since=2026-03-02&until=2026-03-02").json()
    assert [i["id"] for i in body["items"]] == [inside.id]
    body = api.get("/api/history?since=2026-03-02T12:00:00Z").json()
    assert body["total"] == 2


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=abc", "limit"),
        ("limit=-5", "limit"),
        ("offset=-1", "offset"),
        ("offset=1.5", "offset"),
        ("kind=robot", "kind"),
        ("status=exploded", "status"),
        ("since=yesterday", "since"),
        ("until=2026-13-45", "until"),
        ("since=", "since"),
        ("kind=", "kind"),
        ("status=", "status"),
        ("kind=run&kind=session", "kind"),
    ],
)
def test_bad_list_parameters_are_refused_naming_the_field(api, query, field):
    response = api.get(f"/api/history?{query}")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_input"
    assert response.json()["details"]["field"] == field


@pytest.mark.parametrize("query", ["kind=session&status=succeeded", "since=2026-03-05&until=2026-03-01"])
def test_filters_that_cannot_both_hold_match_nothing(api, query):
    run(0, status=Run.Status.SUCCEEDED, created_at=datetime(2026, 3, 3, tzinfo=UTC))
    body = api.get(f"/api/history?{query}").json()
    assert body["items"] == [] and body["total"] == 0


def test_one_run_is_returned_with_its_events(api):
    record = run(0, title="Say hello", input={"text": "hi"}, instruction="Type hi")
    event_append(owner_id=record.id, type="status", data={"status": "running"})
    shot = screenshot_store(owner_id=record.id, data=b"\x89PNG fake", mime="image/png", width=10, height=10)
    event_append(owner_id=record.id, type="screenshot", data={"ref": shot.id})

    body = api.get(f"/api/history/{record.id}").json()

    assert body["kind"] == "run" and body["id"] == record.id and body["title"] == "Say hello"
    assert body["scenarioId"] == "notepad-hello" and body["input"] == {"text": "hi"}
    assert [e["seq"] for e in body["events"]] == [1, 2]
    assert body["events"][0] == {
        "seq": 1,
        "type": "status",
        "data": {"status": "running"},
        "createdAt": body["events"][0]["createdAt"],
    }
    assert body["events"][1]["data"]["url"] == f"/api/screenshots/{shot.id}"


def test_one_session_is_returned_with_its_events(api):
    record = session(0, title="Chat", command_count=1)
    event_append(owner_id=record.id, type="message", data={"text": "Done"})
    body = api.get(f"/api/history/{record.id}").json()
    assert body["kind"] == "session" and body["commandCount"] == 1 and body["closedAt"] is None
    assert [e["type"] for e in body["events"]] == ["message"]
    assert "history" not in body  # the model conversation stays server-side


def test_an_unknown_record_is_404(api):
    for record_id in ("run_doesnotexist", "ses_doesnotexist", "whatever"):
        response = api.get(f"/api/history/{record_id}")
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_deleting_a_finished_run_removes_it_its_events_and_screenshots(api):
    record = run(0)
    other = run(1)
    shot = screenshot_store(owner_id=record.id, data=b"png", mime="image/png", width=1, height=1)
    event_append(owner_id=record.id, type="screenshot", data={"ref": shot.id})
    event_append(owner_id=other.id, type="status", data={"status": "succeeded"})
    path = shot.file.name
    assert default_storage.exists(path)

    response = api.delete(f"/api/history/{record.id}")

    assert response.status_code == 204
    assert not Run.objects.filter(pk=record.id).exists()
    assert not Event.objects.filter(owner_id=record.id).exists()
    assert not Screenshot.objects.filter(owner_id=record.id).exists()
    assert not default_storage.exists(path)
    assert Event.objects.filter(owner_id=other.id).count() == 1
    assert api.get(f"/api/history/{record.id}").status_code == 404


def test_deleting_a_closed_session_removes_it_and_its_events(api):
    record = session(0, status=LiveSession.Status.CLOSED)
    event_append(owner_id=record.id, type="message", data={"text": "x"})
    assert api.delete(f"/api/history/{record.id}").status_code == 204
    assert not LiveSession.objects.filter(pk=record.id).exists()
    assert not Event.objects.filter(owner_id=record.id).exists()


@pytest.mark.parametrize("status", ["queued", "running", "waiting_confirmation"])
def test_an_active_run_cannot_be_deleted(api, status):
    record = run(0, status=status)
    event_append(owner_id=record.id, type="status", data={"status": status})
    response = api.delete(f"/api/history/{record.id}")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict" and response.json()["details"]["status"] == status
    assert Run.objects.filter(pk=record.id).exists() and Event.objects.filter(owner_id=record.id).exists()


@pytest.mark.parametrize("status", ["executing", "waiting_confirmation"])
def test_a_busy_session_cannot_be_deleted(api, status):
    record = session(0, status=status)
    assert api.delete(f"/api/history/{record.id}").status_code == 409
    assert LiveSession.objects.filter(pk=record.id).exists()


def test_deleting_an_unknown_record_is_404(api):
    response = api.delete("/api/history/run_nothing")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/history"),
        ("delete", "/api/history"),
        ("put", "/api/history/run_x"),
        ("post", "/api/history/run_x"),
    ],
)
def test_a_wrong_method_is_405(api, method, path):
    assert getattr(api, method)(path, {}, format="json").status_code == 405


def test_history_needs_the_api_token(anonymous):
    record = run(0)
    assert anonymous.get("/api/history").status_code == 401
    assert anonymous.get(f"/api/history/{record.id}").status_code == 401
    assert anonymous.delete(f"/api/history/{record.id}").status_code == 401
    assert Run.objects.filter(pk=record.id).exists()


def test_the_history_endpoints_are_documented(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert set(schema["paths"]["/api/history"]) >= {"get"}
    assert set(schema["paths"]["/api/history/{record_id}"]) >= {"get", "delete"}
