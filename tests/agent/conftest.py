# The desktop fixtures live in tests/fixtures/desktop.py (a plugin the lead lists in pytest_plugins);
# importing them here keeps tests/agent runnable on its own until then.
from tests.fixtures.desktop import desktop, editor  # noqa: F401
from tests.fixtures.desktop import pytest_configure  # noqa: F401,E402
