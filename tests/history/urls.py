"""The project's URLs plus the history's, until config/urls.py includes them."""
from django.urls import include, path

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("api/", include("history.urls")), *project_urlpatterns]
