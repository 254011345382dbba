"""Included by config/urls.py under /api/."""

from django.urls import path

from . import api

urlpatterns = [
    path("history", api.HistoryListView.as_view(), name="history"),
    path("history/<str:record_id>", api.HistoryRecordView.as_view(), name="history-record"),
]
