from django.apps import AppConfig


class DeskhandConfig(AppConfig):
    # An app only so that the project-wide commands (`serve`, `worker`) have a home.
    name = "config"
    label = "deskhand"
    verbose_name = "Deskhand"
