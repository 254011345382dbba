from django.apps import AppConfig


class LiveSessionsConfig(AppConfig):
    # "sessions" is django.contrib.sessions' label.
    name = "sessions"
    label = "live_sessions"
    verbose_name = "Live sessions"

    def ready(self):
        # The worker's periodic sweep also marks live commands whose worker died `interrupted`.
        from runs import worker_hooks
        from sessions.services import session_sweep_stale

        worker_hooks.extra_sweeps.append(session_sweep_stale)
