"""Fakes of what lies outside the machine (the OpenAI Responses API, the Codex backend), at the wire."""
