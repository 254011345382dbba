"""Included by config/urls.py under /api/."""

from django.urls import path

from . import api, streams

urlpatterns = [
    path("logs/files", api.LogFileListView.as_view(), name="log-files"),
    # `path`, not `str`: every requested name reaches the view, whose listing check is the one
    # gate (a name with a slash is refused there like any other unknown name).
    path("logs/files/<path:filename>", api.LogFileView.as_view(), name="log-file"),
    path("logs/stream", streams.log_stream, name="log-stream"),
]
