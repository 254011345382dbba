"""The memory hook: what the agent already knows goes into its instructions; what it learns comes back.

One object does both: the engine reads relevant entries through `MemoryProvider.relevant` before a
task and its `remember` tool writes through `MemoryProvider.remember` (the Django side implements
it over its MemoryEntry/AppProfile tables).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    pass

REMEMBER_TOOL = {
    "type": "function",
    "name": "remember",
    "description": "Save a durable fact worth knowing in future tasks (how an app behaves, where something "
    "is, a user preference). Never save secrets or one-off details.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "content": {"type": "string", "description": "The fact, in one or two sentences."},
            "category": {"type": "string", "enum": ["app_behavior", "preference", "location", "procedure", "other"]},
            "app_context": {"type": "string", "description": "The application it is about, if any."},
            "tags": {"type": "array", "items": {"type": "string"}},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["content", "category"],
    },
}


class MemoryProvider(Protocol):
    def relevant(self, instruction: str, app: str | None, budget_tokens: int) -> list[dict]: ...
    def mark_used(self, ids: list) -> None: ...
    def remember(
        self, *, content: str, category: str, app_context: str | None, tags: list[str], confidence: float
    ) -> object: ...


class StaticMemory:
    """A fixed list of entries (tests, benches, scripts); what the agent remembers is kept in `saved`."""

    def __init__(self, entries: list[dict] | None = None):
        self.entries = list(entries or [])
        self.used: list = []
        self.asked: list[tuple[str, str | None]] = []
        self.saved: list[dict] = []

    def relevant(self, instruction: str, app: str | None, budget_tokens: int) -> list[dict]:
        self.asked.append((instruction, app))
        return list(self.entries)

    def mark_used(self, ids: list) -> None:
        self.used.extend(ids)

    def remember(
        self, *, content: str, category: str, app_context: str | None, tags: list[str], confidence: float
    ) -> dict:
        entry = {
            "content": content,
            "category": category,
            "app_context": app_context,
            "tags": list(tags),
            "confidence": confidence,
        }
        self.saved.append(entry)
        return entry


def format_entries(entries: list[dict]) -> str:
    lines = []
    for entry in entries:
        app = f" ({entry['appContext']})" if entry.get("appContext") else ""
        lines.append(f"- [{entry.get('category', 'note')}]{app} {entry.get('content', '').strip()}")
    return "\n".join(lines)


def save(memory: MemoryProvider | None, args: dict[str, Any]) -> str:
    """The `remember` tool: the result text goes back to the model."""
    if memory is None:
        return "Memory is not available here; nothing was saved."
    content = str(args.get("content") or "").strip()
    if not content:
        return "Nothing saved: content was empty."
    try:
        confidence = float(args.get("confidence", 0.8))
    except (TypeError, ValueError):
        confidence = 0.8
    memory.remember(
        content=content,
        category=str(args.get("category") or "other"),
        app_context=args.get("app_context") or None,
        tags=[str(t) for t in args.get("tags") or []],
        confidence=min(max(confidence, 0.0), 1.0),
    )
    return "Saved."
