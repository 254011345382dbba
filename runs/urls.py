"""Included by config.urls under `api/`: `path("api/", include("runs.urls"))`."""

from django.urls import path

from runs import api, streams
from scenarios.api import ScenarioListView

urlpatterns = [
    path("scenarios", ScenarioListView.as_view(), name="scenario-list"),
    path("machines", api.MachineListView.as_view(), name="machine-list"),
    path("runs", api.RunListView.as_view(), name="run-list"),
    path("runs/<str:run_id>", api.RunDetailView.as_view(), name="run-detail"),
    path("runs/<str:run_id>/stop", api.RunStopView.as_view(), name="run-stop"),
    path("runs/<str:run_id>/pause", api.RunPauseView.as_view(), name="run-pause"),
    path("runs/<str:run_id>/resume", api.RunResumeView.as_view(), name="run-resume"),
    path("runs/<str:run_id>/retry", api.RunRetryView.as_view(), name="run-retry"),
    path("runs/<str:run_id>/confirm", api.RunConfirmView.as_view(), name="run-confirm"),
    path("runs/<str:run_id>/events", streams.run_events_stream, name="run-events"),
    path("runs/<str:run_id>/replay", api.RunReplayView.as_view(), name="run-replay"),
]
