import pytest

# The web process enqueues through the project's Celery app (configured broker), as `serve` does.
import config.celery  # noqa: F401


@pytest.fixture
def session_urls(settings):
    """Live-session URLs on top of the project's, until config/urls.py includes them."""
    settings.ROOT_URLCONF = "tests.sessions.urls"


def create_session(api, **body):
    response = api.post("/api/live-sessions", {"model": "gpt-5.4", "authProvider": "api-key", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()
