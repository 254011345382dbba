from django.apps import AppConfig


class LiveSessionsConfig(AppConfig):
    # "sessions" is django.contrib.sessions' label.
    name = "sessions"
    label = "live_sessions"
    verbose_name = "Live sessions"
