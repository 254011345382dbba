"""Deskhand's engine: model transports, the computer, and the desktop / cli / planner agents.

Imports no Django. Callers drive it through `agent.engine.run_task` with an injected sink.
"""
