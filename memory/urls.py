"""Included by config/urls.py under /api/."""

from django.urls import path

from . import api

urlpatterns = [
    path("memory", api.MemoryEntryCreateView.as_view(), name="memory-create"),
    path("memory/global", api.GlobalMemoryView.as_view(), name="memory-global"),
    path("memory/apps", api.AppProfileListView.as_view(), name="memory-apps"),
    path("memory/apps/<str:name>", api.AppProfileDetailView.as_view(), name="memory-app"),
    # `str`, not `int`: `/api/memory/null` names no entry (404 "No memory entry null"), it is not an
    # unknown endpoint; the view checks the id.
    path("memory/<str:entry_id>", api.MemoryEntryDetailView.as_view(), name="memory-entry"),
]
