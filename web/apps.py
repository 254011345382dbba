from django.apps import AppConfig


class WebConfig(AppConfig):
    """The server-rendered pages: history, run viewer, start a run, live console, status."""

    name = "web"
    verbose_name = "Pages"
