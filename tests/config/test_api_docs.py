"""/api/schema/ and /api/docs/ describe every endpoint of the API reference, streams included."""

import re

import pytest

pytestmark = pytest.mark.django_db

# Every endpoint of the reference, as (method, path) with path parameters written `{}`.
REFERENCE = [
    ("get", "/api/system/health"),
    ("get", "/api/auth/status"),
    ("post", "/api/auth/codex/login"),
    ("post", "/api/auth/codex/logout"),
    ("get", "/api/scenarios"),
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
def schema(django_db_setup, django_db_blocker):
    from django.conf import settings
    from rest_framework.test import APIClient

    client = APIClient(SERVER_NAME="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.API_TOKEN}")
    with django_db_blocker.unblock():  # the token check reads the sign-in throttle
        response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return {re.sub(r"\{[^}]+\}", "{}", path): operations for path, operations in response.json()["paths"].items()}


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
