"""The pages. Included by config/urls.py at the root: `path("", include("web.urls"))`."""

from django.urls import path

from web import views

app_name = "web"

urlpatterns = [
    path("", views.history_page, name="history"),
    path("runs/new", views.run_new_page, name="run-new"),
    path("runs/<str:run_id>", views.run_page, name="run"),
    path("live", views.live_page, name="live"),
    path("live/<str:session_id>", views.live_page, name="live-session"),
    path("status", views.status_page, name="status"),
    path("favicon.ico", views.favicon, name="favicon"),
]
