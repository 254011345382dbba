"""Rules every endpoint of the API keeps alike: list parameters, wrong methods, error bodies."""

import pytest

from runs.models import Run

pytestmark = pytest.mark.django_db

LISTS = ["/api/runs", "/api/history", "/api/live-sessions", "/api/machines"]
STREAMS = ["/api/runs/{run}/events", "/api/live-sessions/{session}/events", "/api/logs/stream"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=%C2%B2", "limit"),  # "²": a digit to str.isdigit(), not to int()
        ("offset=-1", "offset"),
        ("offset=446174971922022815236096", "offset"),
        ("offset=10000001", "offset"),
        ("offset=1e3", "offset"),
    ],
)
def test_every_list_refuses_out_of_range_paging_naming_the_parameter(api, path, query, field):
    response = api.get(f"{path}?{query}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_input" and body["details"]["field"] == field
    assert body["message"] == f"{field}: must be a whole number from {0 if field == 'offset' else 1} to " + (
        "10000000" if field == "offset" else "200"
    )


@pytest.mark.parametrize("path", LISTS)
def test_every_list_answers_items_total_limit_and_offset(api, path):
    body = api.get(f"{path}?limit=200&offset=10000000").json()
    assert body == {"items": [], "total": body["total"], "limit": 200, "offset": 10000000}


def _stream_path(template: str) -> str:
    from sessions.models import LiveSession

    run = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m")
    session = LiveSession.objects.create(auth_provider="api-key", model="m")
    return template.format(run=run.id, session=session.id)


@pytest.mark.parametrize("template", STREAMS)
def test_a_stream_answers_a_wrong_method_exactly_as_every_other_endpoint(api, template):
    path = _stream_path(template)
    streamed = api.post(path, {}, format="json")
    ordinary = api.get("/api/runs/run_x/stop")
    assert streamed.status_code == ordinary.status_code == 405
    assert streamed.json() == {"code": "method_not_allowed", "message": 'Method "POST" not allowed.', "details": {}}
    assert ordinary.json()["message"] == 'Method "GET" not allowed.'
    assert streamed["Allow"] == "GET"


@pytest.mark.parametrize("template", STREAMS[:2])
@pytest.mark.parametrize("value", ["99999999999999999999999", "²", "-1"])
def test_a_stream_refuses_a_last_event_id_that_is_no_sequence_number(api, template, value):
    response = api.get(_stream_path(template), HTTP_LAST_EVENT_ID=value)
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "Last-Event-ID"


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("query, field", [("offset=", "offset"), ("limit=1&limit=2", "limit"), ("status=", "status")])
def test_an_empty_or_repeated_parameter_is_refused_too(api, path, query, field):
    response = api.get(f"{path}?{query}")
    assert response.status_code == 400 and response.json()["details"]["field"] == field


@pytest.mark.parametrize(
    "body",
    ['{"content": "a\\u0000b", "category": "fact"}', '{"content": "a\\udabab", "category": "fact"}'],
)
def test_text_no_database_can_store_is_refused_before_any_service_sees_it(api, body):
    from memory.models import MemoryEntry

    response = api.post("/api/memory", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_json" and "content" in response.json()["message"]
    assert not MemoryEntry.objects.exists()


@pytest.mark.parametrize("garbage", ["null,null", "abc", "0", "-1", "99999999999999999999999999", "1.5"])
def test_an_id_that_is_no_id_is_a_404_envelope_not_an_unknown_endpoint(api, garbage):
    for method in ("get", "delete"):
        response = getattr(api, method)(f"/api/memory/{garbage}")
        assert response.status_code == 404, (method, response.content)
        assert response.json()["code"] == "not_found" and "memory entry" in response.json()["message"]


def test_every_error_code_the_code_base_raises_is_catalogued_with_its_status():
    """The schema's code enums come from ERROR_CODES: a code raised but not listed would be an
    answer the schema does not allow."""
    import re
    from pathlib import Path

    from core.errors import ERROR_CODES, AppError

    root = Path(__file__).resolve().parents[2]
    apps = ["config", "core", "events", "history", "logs", "memory", "providers", "runs", "scenarios", "sessions"]
    raised = set()
    for app in apps:
        for source in (root / app).rglob("*.py"):
            text = source.read_text()
            raised |= set(re.findall(r'(?:raise|return) \w+\([^)]*?code="([a-z_]+)"', text, re.S))
            raised |= set(re.findall(r'^\s+code = "([a-z_]+)"', text, re.M))
    raised -= {"error"}  # AppError's own placeholder, never raised as is
    assert raised, "the scan found nothing: its patterns no longer match the code"
    assert raised <= set(ERROR_CODES), sorted(raised - set(ERROR_CODES))

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    import providers.codex_login  # their errors subclass AppError
    import providers.codex_tokens  # noqa: F401

    for error in subclasses(AppError):
        if error.code in ERROR_CODES:
            assert ERROR_CODES[error.code][0] == error.http_status, error


def test_every_event_type_documents_its_data():
    from agent.sink import EVENT_TYPES
    from events.serializers import EVENT_DATA, OWNER_STREAM_EVENTS

    assert set(EVENT_DATA) == set(OWNER_STREAM_EVENTS) == set(EVENT_TYPES)
