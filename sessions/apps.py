from django.apps import AppConfig


class LiveSessionsConfig(AppConfig):
    # "sessions" is django.contrib.sessions' label.
    name = "sessions"
    label = "live_sessions"
    verbose_name = "Live sessions"

    def ready(self):
        # Every process's sweep also interrupts live commands whose worker died and re-sends lost ones.
        from runs.supervision import ExecutionKind, kind_register
        from sessions import remote_screen
        from sessions.services import session_commands_redispatch, session_sweep_stale, sessions_recover_machine

        kind_register(
            ExecutionKind(
                name="live sessions",
                sweep_stale=session_sweep_stale,
                recover_machine=sessions_recover_machine,
                dispatch=session_commands_redispatch,
            )
        )
        # A worker of the scaled mode shows its machine's screen to the web tier (Celery's signals).
        remote_screen.connect()
