"""The project's urls plus the providers' (used only until config/urls.py includes them)."""
from django.urls import include, path

from config.urls import handler404, handler500, urlpatterns as project_urlpatterns  # noqa: F401

urlpatterns = [path("api/", include("providers.urls")), *project_urlpatterns]
