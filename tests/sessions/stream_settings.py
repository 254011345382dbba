"""Settings for the Daphne and worker subprocesses of the session tests: the project's, plus the
session URLs (until config/urls.py includes them) and a quick screen stream."""
import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.sessions.urls"
SCREEN_STREAM_FPS = float(os.environ.get("DESKHAND_SCREEN_STREAM_FPS", "10"))
SCREEN_STREAM_MAX_WIDTH = int(os.environ.get("DESKHAND_SCREEN_STREAM_MAX_WIDTH", "1280"))
