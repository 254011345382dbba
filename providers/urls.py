"""Included by config/urls.py under /api/."""

from django.urls import path

from . import api

urlpatterns = [
    path("auth/status", api.AuthStatusView.as_view(), name="auth-status"),
    path("auth/codex/login", api.CodexLoginView.as_view(), name="auth-codex-login"),
    path("auth/codex/logout", api.CodexLogoutView.as_view(), name="auth-codex-logout"),
]
