from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"

    def ready(self):
        # The worker's own start-up and periodic duties (register the machine, sweep stale runs)
        # hang on Celery's worker signals, so `manage.py worker` and the embedded worker of
        # `serve` get them without any extra process.
        from runs import worker_hooks

        worker_hooks.connect()
