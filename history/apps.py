from django.apps import AppConfig


class HistoryConfig(AppConfig):
    # No models: the unified history reads runs and live sessions, so it sits above both.
    name = "history"
    verbose_name = "History"
