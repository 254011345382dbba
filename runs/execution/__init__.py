"""The execution machinery runs and live commands share, one module per concern.

- `claims`: one driver per desktop (the claim), and when a heartbeat counts as stale.
- `owner`: `ExecutionOwner`, the row an execution reports to, and the hooks where runs and
  live sessions differ.
- `sink`: `DjangoSink`, the engine's Sink over the event log and the owner row.
- `writer`: `EventWriter`, which writes the sink's events, screenshots and heartbeats in order on
  a thread of its own, so the engine does not wait for the database between steps.
- `confirmations`: a person's answer to one exact action: waiting for it, giving it.
- `heartbeat`: the thread that keeps an execution's heartbeat while the engine blocks.
- `environment`: what the engine needs from the settings (model client, computer, memory,
  browser, screen, protected paths).
- `invoke`: `engine_invoke`, the one call into the engine, for a run and a live command alike.

The machinery never decides an owner's final status: the caller (runs.services.run_execute,
sessions.execution.command_run) claims the owner, calls `engine_invoke` and writes the outcome.
"""
