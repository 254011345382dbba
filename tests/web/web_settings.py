"""Settings for the Daphne subprocess of the browser tests: the project's, with the pages app and URLs."""
from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

if "web" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "web"]
ROOT_URLCONF = "tests.web.urls"
