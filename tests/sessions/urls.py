"""The project's URLs plus live sessions', until config/urls.py includes them."""
from django.urls import include, path

# Until config/__init__.py loads the Celery app (`from .celery import app as celery_app`), a web
# process would enqueue through Celery's unconfigured default app.
import config.celery  # noqa: F401
from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("api/", include("sessions.urls")), *project_urlpatterns]
