"""The project's URLs plus the pages and the APIs they call, until config.urls includes them.

Each include is kept only while config.urls lacks it; once the lead wires them the first match wins
and both point at the same views, so this module keeps working."""
from django.urls import include, path

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("api/", include("runs.urls")),
    path("api/", include("sessions.urls")),
    path("api/", include("history.urls")),
    path("api/", include("logs.urls")),
    *[p for p in project_urlpatterns if str(p.pattern) != ""],
    path("", include("web.urls")),
]
