from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"

    def ready(self):
        # The worker's own start-up and periodic duties (register the machine, sweep stale runs)
        # hang on Celery's worker signals, so `manage.py worker` and the embedded worker of
        # `serve` get them without any extra process.
        from runs import worker_hooks
        from runs.dispatch import runs_dispatch
        from runs.services import runs_recover_machine, runs_sweep
        from runs.supervision import ExecutionKind, kind_register

        worker_hooks.connect()
        kind_register(
            ExecutionKind(
                name="runs", sweep_stale=runs_sweep, recover_machine=runs_recover_machine, dispatch=runs_dispatch
            )
        )
