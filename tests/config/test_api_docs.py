"""/api/schema/ and /api/docs/ describe every endpoint of the API reference, streams included."""

import re

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.portable]

# Every endpoint of the reference, as (method, path) with path parameters written `{}`.
REFERENCE = [
    ("get", "/api/system/health"),
    ("get", "/api/auth/status"),
    ("post", "/api/auth/codex/login"),
    ("post", "/api/auth/codex/logout"),
    ("get", "/api/scenarios"),
    ("get", "/api/machines"),
    ("get", "/api/runs"),
    ("post", "/api/runs"),
    ("get", "/api/runs/{}"),
    ("post", "/api/runs/{}/stop"),
    ("post", "/api/runs/{}/retry"),
    ("get", "/api/runs/{}/events"),
    ("get", "/api/runs/{}/replay"),
    ("get", "/api/live-sessions"),
    ("post", "/api/live-sessions"),
    ("get", "/api/live-sessions/{}"),
    ("get", "/api/live-sessions/{}/events"),
    ("post", "/api/live-sessions/{}/observe"),
    ("post", "/api/live-sessions/{}/commands"),
    ("post", "/api/live-sessions/{}/confirm"),
    ("post", "/api/live-sessions/{}/stop"),
    ("get", "/api/live-sessions/{}/screen-stream"),
    ("get", "/api/logs/files"),
    ("get", "/api/logs/files/{}"),
    ("get", "/api/logs/stream"),
    ("get", "/api/memory/global"),
    ("get", "/api/memory/apps"),
    ("get", "/api/memory/apps/{}"),
    ("post", "/api/memory"),
    ("delete", "/api/memory/{}"),
    ("get", "/api/history"),
    ("get", "/api/history/{}"),
    ("delete", "/api/history/{}"),
]
STREAMS = [
    "/api/runs/{}/events",
    "/api/live-sessions/{}/events",
    "/api/live-sessions/{}/screen-stream",
    "/api/logs/stream",
]


@pytest.fixture(scope="module")
def schema_document(django_db_setup, django_db_blocker):
    from django.conf import settings
    from rest_framework.test import APIClient

    client = APIClient(SERVER_NAME="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.API_TOKEN}")
    with django_db_blocker.unblock():  # the token check reads the sign-in throttle
        response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def schema(schema_document):
    return {re.sub(r"\{[^}]+\}", "{}", path): operations for path, operations in schema_document["paths"].items()}


@pytest.mark.parametrize("method, path", REFERENCE)
def test_the_schema_describes_every_endpoint_of_the_reference(schema, method, path):
    assert path in schema, f"{path} is missing from /api/schema/"
    assert method in schema[path], f"{method.upper()} {path} is missing from /api/schema/"


@pytest.mark.parametrize("path", STREAMS)
def test_the_schema_describes_the_streams_as_event_streams(schema, path):
    content = schema[path]["get"]["responses"]["200"]["content"]
    assert "text/event-stream" in content


def test_the_docs_page_renders_without_a_cdn(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger" in page.lower()
    assert "cdn." not in page and "unpkg" not in page


def test_signed_out_the_docs_page_sends_you_to_sign_in_and_back(anonymous, client):
    from django.conf import settings

    response = anonymous.get("/api/docs/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/api/docs/"
    signed_in = client.post("/login/", {"token": settings.API_TOKEN, "next": "/api/docs/"})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/api/docs/"
    assert client.get("/api/docs/").status_code == 200


def test_signed_out_the_schema_itself_is_still_a_401_envelope(anonymous):
    response = anonymous.get("/api/schema/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_the_schema_declares_the_bearer_token_and_every_operation_needs_it(schema_document):
    assert schema_document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema_document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for path, operations in schema_document["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"bearerAuth": []}], (method, path)


def test_every_operation_documents_its_errors_with_the_envelope(schema_document):
    from core.errors import ERROR_CODES

    for path, operations in schema_document["paths"].items():
        for method, operation in operations.items():
            statuses = {int(code) for code in operation["responses"] if int(code) >= 400}
            assert 401 in statuses, (method, path)
            for status in statuses:
                schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
                assert schema["required"] == ["code", "message", "details"], (method, path, status)
                assert all(ERROR_CODES[code][0] == status for code in schema["properties"]["code"]["enum"])


def test_the_streams_document_each_event_type(schema_document):
    from agent.sink import EVENT_TYPES

    answer = schema_document["paths"]["/api/runs/{run_id}/events"]["get"]["responses"]["200"]
    assert set(answer["x-events"]) == set(EVENT_TYPES)
    assert list(answer["content"]) == ["text/event-stream"]


def test_generating_the_schema_warns_about_nothing():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
