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


@pytest.fixture(scope="session", autouse=True)
def _async_views_leave_no_connection(request):
    """The stream tests run the async views in this process; their queries go through asgiref's one
    sync thread, whose database connection would outlive the suite, and PostgreSQL refuses to drop a
    test database that anybody is still connected to."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        yield
        return
    request.getfixturevalue("django_db_setup")  # so this ends before the test database is dropped
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)


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
