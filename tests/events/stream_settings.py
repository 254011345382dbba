"""Settings for the Daphne subprocess of the stream tests: the project's, plus a test stream URL."""

from config.settings import *  # noqa: F403 - the project's settings, overridden below

ROOT_URLCONF = "tests.events.urls"
