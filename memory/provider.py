"""The Django side of the engine's memory hook (`agent.memory.MemoryProvider`).

One provider per execution: `owner_id` (the run or live session) is recorded as the source of
what the agent saves with its `remember` tool.
"""

import logging

from memory.models import MemoryEntry
from memory.selectors import memory_relevant
from memory.services import memory_entries_mark_used, memory_entry_create

logger = logging.getLogger("deskhand.memory")


class DjangoMemoryProvider:
    def __init__(self, owner_id: str = ""):
        self.owner_id = owner_id

    def relevant(self, instruction: str, app: str | None, budget_tokens: int) -> list[dict]:
        return memory_relevant(instruction=instruction, app=app, budget_tokens=budget_tokens)

    def mark_used(self, ids: list) -> None:
        memory_entries_mark_used(ids=ids)

    def remember(
        self,
        *,
        content: str,
        category: str,
        app_context: str | None,
        tags: list[str],
        confidence: float,
    ) -> MemoryEntry:
        """What the agent's `remember` tool saves, with this provider's owner as its source. The
        model's category may be one we do not know: it is kept as "other" rather than lost; the
        content itself is validated like any other entry."""
        owner_id = self.owner_id
        if category not in MemoryEntry.Category.values:
            category = MemoryEntry.Category.OTHER
        entry = memory_entry_create(
            content=content,
            category=category,
            app_context=app_context,
            tags=[str(tag)[:40] for tag in tags or [] if str(tag).strip()][:20],
            confidence=min(max(float(confidence), 0.0), 1.0),
            source=MemoryEntry.Source.AGENT,
            source_owner_id=owner_id,
        )
        logger.info("Agent saved memory entry %s", entry.id, extra={"owner_id": owner_id})
        return entry
