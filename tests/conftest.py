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
