"""Secret inputs of a task (a scenario's password fields): typed for real, never seen or kept.

The model never gets a secret's value. Its instruction carries a placeholder such as
`<secret:password>`, and the model types that placeholder like any text; the desktop agent's `type`
action and the browser's `browser_type` put the real value in at the last moment, when the keys
are sent. So the conversation, the events (which record the action as the model wrote it), the
replay and the logs only ever hold the placeholder. As a second net, every event the engine emits
is masked for the values themselves.

The shell tool never receives secrets: a command line is visible to every process and ends up in
shell histories and outputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.sink import Sink

MASK = "***"


def placeholder(name: str) -> str:
    return f"<secret:{name}>"


class Secrets:
    """The secret values of one task, by input name."""

    def __init__(self, values: dict[str, str] | None = None):
        self.values = {name: str(value) for name, value in (values or {}).items() if str(value)}

    def __bool__(self) -> bool:
        return bool(self.values)

    def reveal(self, text: str) -> str:
        """The text with each placeholder replaced by its value: only ever for the keys being sent."""
        for name, value in self.values.items():
            text = text.replace(placeholder(name), value)
        return text

    def mask(self, data: Any) -> Any:
        """`data` (JSON-like) with every occurrence of a value replaced by `***`."""
        if not self.values:
            return data
        if isinstance(data, str):
            for value in self.values.values():
                data = data.replace(value, MASK)
            return data
        if isinstance(data, dict):
            return {key: self.mask(item) for key, item in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.mask(item) for item in data]
        return data

    def prompt(self) -> str:
        """What the model is told about the placeholders in its instruction."""
        names = ", ".join(placeholder(name) for name in self.values)
        return (
            f"\nSecret values appear in the instruction as placeholders: {names}. Type a placeholder "
            "exactly as written, where the value belongs (the computer tool's type action or browser_type); "
            "the real value is typed in its place. You never see the value: do not guess it, read it "
            "back, or put the placeholder anywhere the user did not ask for it."
        )


class MaskingSink:
    """A sink that masks the task's secret values out of every event before passing it on."""

    def __init__(self, sink: Sink, secrets: Secrets):
        self._sink = sink
        self._secrets = secrets

    def emit(self, type: str, data: dict) -> None:
        self._sink.emit(type, self._secrets.mask(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sink, name)
