# Load the Celery app with Django, so `delay_on_commit` in the web process uses the configured broker.
from .celery import app as celery_app

__all__ = ("celery_app",)
