"""Writes to memory: entries (from a person through the API or admin, or from the agent's `remember`
tool) and app profiles.

Every entry point validates through here, so the agent cannot store what the API would refuse.
"""

import hashlib
import re
import unicodedata

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.errors import InvalidInput, NotFound
from memory.models import AppProfile, MemoryEntry
from memory.selectors import app_profile_find

MAX_CONTENT_CHARS = 2000
MAX_TAGS = 20
MAX_TAG_CHARS = 40
MAX_APP_NAME_CHARS = 200


def memory_content_key(content: str) -> str:
    """What makes two entries "the same": case, spacing and a trailing full stop do not count."""
    text = unicodedata.normalize("NFKC", content).casefold()
    text = re.sub(r"\s+", " ", text).strip().rstrip(".!")
    return hashlib.sha256(text.encode()).hexdigest()


def _clean_content(content) -> str:
    if not isinstance(content, str) or not content.strip():
        raise InvalidInput("content", "must be a non-empty string")
    content = content.strip()
    if len(content) > MAX_CONTENT_CHARS:
        raise InvalidInput("content", f"must be at most {MAX_CONTENT_CHARS} characters")
    return content


def _clean_category(category) -> str:
    if category not in MemoryEntry.Category.values:
        raise InvalidInput("category", f"must be one of: {', '.join(MemoryEntry.Category.values)}")
    return category


def _clean_confidence(confidence) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
        raise InvalidInput("confidence", "must be a number from 0 to 1")
    return float(confidence)


def _clean_tags(tags) -> list[str]:
    if not isinstance(tags, (list, tuple)):
        raise InvalidInput("tags", "must be a list of strings")
    if len(tags) > MAX_TAGS:
        raise InvalidInput("tags", f"must hold at most {MAX_TAGS} tags")
    clean: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag.strip()) > MAX_TAG_CHARS:
            raise InvalidInput("tags", f"each tag must be a non-empty string of at most {MAX_TAG_CHARS} characters")
        _add_tag(clean, tag.strip())
    return clean


def _add_tag(tags: list[str], tag: str) -> None:
    if tag.casefold() not in {t.casefold() for t in tags}:
        tags.append(tag)


def _clean_app_name(name) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise InvalidInput("appContext", "must be a string or null")
    name = re.sub(r"\s+", " ", name).strip()
    if not name:
        return None
    if len(name) > MAX_APP_NAME_CHARS or "/" in name:
        raise InvalidInput("appContext", f"must be at most {MAX_APP_NAME_CHARS} characters, without '/'")
    return name


def app_profile_get_or_create(*, name: str) -> AppProfile:
    """The profile called `name` (or having it as an alias, any case); created on first use."""
    clean = _clean_app_name(name)
    if clean is None:
        raise InvalidInput("appContext", "must not be empty")
    profile = app_profile_find(name=clean)
    if profile is not None:
        return profile
    try:
        with transaction.atomic():
            return AppProfile.objects.create(name=clean)
    except IntegrityError:
        # Another writer created it between our lookup and our insert (unique on lower(name)).
        return app_profile_find(name=clean)


def memory_entry_upsert(
    *,
    content: str,
    category: str,
    app_context: str | None,
    tags: list[str],
    confidence: float,
    source: str,
    source_owner_id: str = "",
) -> tuple[MemoryEntry, bool]:
    """Store an entry, or merge it into the existing one with the same content and app.

    Returns (entry, created). A merge keeps the union of the tags and the higher confidence; the
    original source stays, since that is where the fact was first learnt.
    """
    content = _clean_content(content)
    category = _clean_category(category)
    confidence = _clean_confidence(confidence)
    tags = _clean_tags(tags)
    if source not in MemoryEntry.Source.values:
        raise InvalidInput("source", f"must be one of: {', '.join(MemoryEntry.Source.values)}")
    app_name = _clean_app_name(app_context)
    key = memory_content_key(content)
    # On SQLite the transaction is IMMEDIATE (it holds the write lock from its start), so two
    # writers of the same content cannot both miss the duplicate.
    with transaction.atomic():
        app = app_profile_get_or_create(name=app_name) if app_name else None
        existing = MemoryEntry.objects.filter(content_key=key, app=app).order_by("id").first()
        now = timezone.now()
        if existing is None:
            entry = MemoryEntry.objects.create(
                content=content,
                content_key=key,
                category=category,
                app=app,
                tags=tags,
                confidence=confidence,
                source=source,
                source_owner_id=source_owner_id or "",
                created_at=now,
                updated_at=now,
            )
            if app is not None:
                AppProfile.objects.filter(pk=app.pk).update(updated_at=now)
            return entry, True
        merged_tags = list(existing.tags or [])
        for tag in tags:
            _add_tag(merged_tags, tag)
        existing.tags = merged_tags
        existing.confidence = max(existing.confidence, confidence)
        existing.updated_at = now
        existing.save(update_fields=["tags", "confidence", "updated_at"])
        return existing, False


def memory_entry_create(
    *,
    content: str,
    category: str,
    app_context: str | None,
    tags: list[str],
    confidence: float,
    source: str,
    source_owner_id: str = "",
) -> MemoryEntry:
    """Store an entry (a duplicate is merged into the existing one, which is returned)."""
    entry, _ = memory_entry_upsert(
        content=content,
        category=category,
        app_context=app_context,
        tags=tags,
        confidence=confidence,
        source=source,
        source_owner_id=source_owner_id,
    )
    return entry


def memory_entry_delete(*, entry_id: int) -> None:
    deleted, _ = MemoryEntry.objects.filter(pk=entry_id).delete()
    if not deleted:
        raise NotFound(f"No memory entry {entry_id}")


def memory_entries_mark_used(*, ids: list[int]) -> int:
    """Count one use of each entry; one UPDATE, so concurrent tasks never lose a count."""
    clean = [int(i) for i in ids if str(i).isdigit()]
    if not clean:
        return 0
    return MemoryEntry.objects.filter(pk__in=clean).update(use_count=F("use_count") + 1, last_used_at=timezone.now())


def memory_entry_touch(*, entry: MemoryEntry) -> MemoryEntry:
    """Recompute what derives from an entry edited in admin (its duplicate key, its times)."""
    entry.content = entry.content.strip()
    entry.content_key = memory_content_key(entry.content)
    entry.updated_at = timezone.now()
    entry.save()
    return entry


@transaction.atomic
def app_profiles_merge(*, target: AppProfile, others: list[AppProfile]) -> AppProfile:
    """Fold `others` into `target`: their names become aliases, their entries move.

    An entry that duplicates one the target already has is merged into it (tags united, higher
    confidence, use counts added) rather than moved, so the target never holds the same fact twice.
    """
    aliases = list(target.aliases or [])
    notes = [target.notes.strip()] if target.notes.strip() else []
    for other in others:
        if other.pk == target.pk:
            continue
        for alias in [other.name, *(other.aliases or [])]:
            if alias.casefold() != target.name.casefold():
                _add_tag(aliases, alias)
        if other.notes.strip():
            notes.append(other.notes.strip())
        for entry in MemoryEntry.objects.filter(app=other).order_by("id"):
            twin = MemoryEntry.objects.filter(app=target, content_key=entry.content_key).first()
            if twin is None:
                entry.app = target
                entry.save(update_fields=["app"])
                continue
            for tag in entry.tags or []:
                _add_tag(twin.tags, tag)
            twin.confidence = max(twin.confidence, entry.confidence)
            twin.use_count += entry.use_count
            twin.updated_at = timezone.now()
            twin.save(update_fields=["tags", "confidence", "use_count", "updated_at"])
            entry.delete()
        other.delete()
    target.aliases = aliases
    target.notes = "\n\n".join(notes)
    target.updated_at = timezone.now()
    target.save(update_fields=["aliases", "notes", "updated_at"])
    return target
