"""Bad input that used to crash the API (500) gets a 4xx JSON envelope naming what was wrong."""

import pytest

from core.parsers import MAX_JSON_DEPTH
from memory.models import MemoryEntry
from runs.models import Run
from sessions.models import LiveSession

pytestmark = pytest.mark.django_db


def nested(depth: int, inner: str = "1") -> str:
    return '{"a":' * depth + inner + "}" * depth


@pytest.mark.parametrize("path", ["/api/runs", "/api/live-sessions", "/api/memory", "/api/auth/codex/login"])
@pytest.mark.parametrize("document", [nested(10_000), "[" * 10_000 + "]" * 10_000], ids=["objects", "arrays"])
def test_json_nested_10000_deep_is_a_400_naming_the_body(api, path, document):
    response = api.post(path, data=document, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_input",
        "message": f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels",
        "details": {"field": "body", "limit": MAX_JSON_DEPTH},
    }
    assert not Run.objects.exists() and not LiveSession.objects.exists() and not MemoryEntry.objects.exists()


def test_json_just_over_the_depth_limit_is_refused_and_at_the_limit_is_parsed(api):
    over = api.post("/api/live-sessions", data=nested(MAX_JSON_DEPTH + 1), content_type="application/json")
    assert over.status_code == 400 and over.json()["details"]["field"] == "body"
    # At the limit the body parses, and the serializer judges it (an unknown field here).
    at = api.post("/api/live-sessions", data=nested(MAX_JSON_DEPTH), content_type="application/json")
    assert at.status_code == 400 and at.json()["details"]["field"] == "a"


@pytest.mark.parametrize("path", ["/api/runs", "/api/history", "/api/live-sessions", "/api/logs/files"])
def test_2000_query_parameters_are_a_400_naming_the_query(api, path):
    response = api.get(path + "?" + "&".join(f"p{i}=1" for i in range(2000)))
    assert response.status_code == 400
    assert response.json() == {
        "code": "too_many_parameters",
        "message": "The query has more than 1000 parameters.",
        "details": {"field": "query", "limit": 1000},
    }


def test_a_query_at_the_parameter_limit_is_answered(api):
    response = api.get("/api/history?" + "&".join(f"p{i}=1" for i in range(1000)))
    assert response.status_code == 200
