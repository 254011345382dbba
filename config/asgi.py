import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Static files (admin, API docs) straight from the installed apps: no collectstatic step.
application = ASGIStaticFilesHandler(get_asgi_application())
