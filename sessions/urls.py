"""Included by config/urls.py under /api/."""

from django.urls import path

from . import api, streams

urlpatterns = [
    path("live-sessions", api.SessionListView.as_view(), name="live-sessions"),
    path("live-sessions/<str:session_id>", api.SessionDetailView.as_view(), name="live-session"),
    path("live-sessions/<str:session_id>/events", streams.session_event_stream, name="live-session-events"),
    path(
        "live-sessions/<str:session_id>/screen-stream", streams.session_screen_stream, name="live-session-screen-stream"
    ),
    path("live-sessions/<str:session_id>/commands", api.CommandView.as_view(), name="live-session-commands"),
    path("live-sessions/<str:session_id>/confirm", api.ConfirmView.as_view(), name="live-session-confirm"),
    path("live-sessions/<str:session_id>/stop", api.StopView.as_view(), name="live-session-stop"),
    path("live-sessions/<str:session_id>/pause", api.PauseView.as_view(), name="live-session-pause"),
    path("live-sessions/<str:session_id>/resume", api.ResumeView.as_view(), name="live-session-resume"),
    path("live-sessions/<str:session_id>/observe", api.ObserveView.as_view(), name="live-session-observe"),
    path("live-sessions/<str:session_id>/close", api.CloseView.as_view(), name="live-session-close"),
    # A run's page watches the screen through the same capture as the live console (sessions.screen).
    path("runs/<str:run_id>/screen-stream", streams.run_screen_stream, name="run-screen-stream"),
]
