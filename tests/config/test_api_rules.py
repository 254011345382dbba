"""Rules every endpoint of the API keeps alike: list parameters, wrong methods, error bodies."""

import pytest

from runs.models import Run

pytestmark = pytest.mark.django_db

LISTS = ["/api/runs", "/api/history", "/api/live-sessions"]
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
