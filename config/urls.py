from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import views
from config.api import HealthView
from config.api_errors import json_not_found, json_server_error
from events.api import ScreenshotView

api_patterns = [
    path("system/health", HealthView.as_view(), name="health"),
    path("screenshots/<str:screenshot_id>", ScreenshotView.as_view(), name="screenshot"),
    path("", include("providers.urls")),
    path("", include("runs.urls")),
    path("", include("sessions.urls")),
    path("", include("memory.urls")),
    path("", include("logs.urls")),
    path("", include("history.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]

# Admin signs in through the same token login as the pages.
admin.site.login = lambda request, extra_context=None: redirect(f"/login/?next={request.get_full_path()}")

urlpatterns = [
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("", include("web.urls")),
]


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return json_server_error(request)
    from django.views.defaults import server_error

    return server_error(request)
