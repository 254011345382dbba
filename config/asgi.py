import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Static files (admin, API docs) straight from the installed apps: no collectstatic step.
application = ASGIStaticFilesHandler(get_asgi_application())

# The web process sweeps too: an execution whose worker died is marked `interrupted`, and queued
# work is handed out, even when no worker is alive to do it.
from runs.supervision import Sweeper  # noqa: E402 - needs the apps loaded above

Sweeper(name="deskhand-web-sweeper").start()
# Body size, body timeout and request-line limits live in Daphne's HTTP parser (see the module):
# by the time the application is called, Daphne has already read the whole body.
from config import http_limits  # noqa: E402 - needs the settings configured above

http_limits.install()
