import pytest
from django.conf import settings
from rest_framework.test import APIClient

pytest_plugins = [
    "tests.fixtures.desktop",
    "tests.fixtures.server",
    "tests.fixtures.browser",
    "tests.fixtures.model",
    "tests.fixtures.worker",
]

HOST = "127.0.0.1"


def pytest_collection_modifyitems(config, items):
    """Tests marked `needs_redis` run with `-m scaled` only: the default run has no Redis, and
    without it there is no fleet to test (a test that cannot run is left out, never skipped)."""
    if "scaled" in (config.option.markexpr or ""):
        return
    kept = [item for item in items if item.get_closest_marker("needs_redis") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture
def anonymous():
    """An API client that sends no credentials."""
    return APIClient(SERVER_NAME=HOST)


@pytest.fixture
def api():
    """An API client carrying the bearer token, as a script or CLI would."""
    client = APIClient(SERVER_NAME=HOST)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.API_TOKEN}")
    return client
