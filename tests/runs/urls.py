"""The project's URLs plus the runs and scenarios API, until config.urls includes `runs.urls`.

Once the lead wires `path("api/", include("runs.urls"))`, this module still works (the first match
wins and both point at the same views)."""
from django.urls import include, path

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("api/", include("runs.urls")), *project_urlpatterns]
