"""Settings for the Daphne subprocess of the run stream tests: the project's, with the runs URLs."""
from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.runs.urls"
