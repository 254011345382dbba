import pytest

from tests.fixtures.server import AsgiServer


def create_session(api, **body):
    response = api.post("/api/live-sessions", {"model": "gpt-5.4", "authProvider": "api-key", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# Frames at most 640 px wide: the 1280-px test screen then proves the stream scales down.
STREAM_MAX_WIDTH = 640


@pytest.fixture(scope="session")
def session_server(django_db_setup, django_db_blocker, desktop):
    """Daphne with the session URLs, started after the desktop so it sees (and streams) its DISPLAY."""
    # Only the display's variables: desktop.env is a copy of the whole environment, whose DATABASE_URL
    # would point Daphne at the real database instead of the test one.
    display = {
        k: v for k, v in desktop.env.items() if k in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS") or k.startswith("XDG_")
    }
    server = AsgiServer(
        {
            **display,
            "DESKHAND_SSE_KEEPALIVE_SECONDS": "0.5",
            "DESKHAND_SCREEN_STREAM_FPS": "10",
            "DESKHAND_SCREEN_STREAM_MAX_WIDTH": str(STREAM_MAX_WIDTH),
        }
    )
    yield server
    server.stop()


@pytest.fixture
def http(session_server):
    with session_server.client() as client:
        yield client


def new_session(http) -> dict:
    response = http.post("/api/live-sessions", json={"model": "gpt-5.4", "authProvider": "api-key"})
    assert response.status_code == 201, response.text
    return response.json()
