"""Reads from memory: lists for the API and admin, and the entries the agent gets before a task."""

import re

from django.db.models import Count

from memory.models import AppProfile, MemoryEntry

# Roughly how many characters make a token for the model (English text); the budget is approximate.
CHARS_PER_TOKEN = 4
# What each entry costs beyond its text in the instructions ("- [category] (App) ").
ENTRY_OVERHEAD_CHARS = 24

# Warnings first: being told about a trap is worth more than a preference.
CATEGORY_WEIGHT = {
    MemoryEntry.Category.WARNING: 1.0,
    MemoryEntry.Category.PROCEDURE: 0.6,
    MemoryEntry.Category.PREFERENCE: 0.6,
    MemoryEntry.Category.APP_BEHAVIOR: 0.5,
    MemoryEntry.Category.LOCATION: 0.4,
    MemoryEntry.Category.FACT: 0.3,
    MemoryEntry.Category.CONTACT: 0.2,
    MemoryEntry.Category.OTHER: 0.1,
}
APP_BONUS = 0.5

_WORD = re.compile(r"[\w']+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "do",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "than",
        "that",
        "the",
        "then",
        "this",
        "to",
        "up",
        "use",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "will",
        "with",
        "you",
        "your",
    ]
)


def _words(text: str) -> set[str]:
    return {
        w
        for w in (m.group(0).casefold().strip("'") for m in _WORD.finditer(text))
        if len(w) > 1 and w not in _STOPWORDS
    }


def _names(profile: AppProfile) -> list[str]:
    return [profile.name, *[a for a in (profile.aliases or []) if isinstance(a, str)]]


def app_profile_find(*, name: str) -> AppProfile | None:
    """The profile whose name or one of whose aliases is `name`, ignoring case."""
    wanted = name.strip().casefold()
    if not wanted:
        return None
    exact = AppProfile.objects.filter(name__iexact=name.strip()).first()
    if exact is not None:
        return exact
    # Aliases live in a JSON list; profiles are few (one per application), so match them here
    # rather than in SQL that differs between SQLite and PostgreSQL.
    for profile in AppProfile.objects.exclude(aliases=[]).only("id", "name", "aliases"):
        if any(alias.casefold() == wanted for alias in _names(profile)):
            return AppProfile.objects.get(pk=profile.pk)
    return None


def memory_entry_get(*, entry_id: int) -> MemoryEntry | None:
    return MemoryEntry.objects.select_related("app").filter(pk=entry_id).first()


def memory_entry_list_global(*, limit: int, offset: int) -> tuple[list[MemoryEntry], int]:
    """Entries tied to no app, newest first: (page, total)."""
    queryset = MemoryEntry.objects.filter(app__isnull=True).order_by("-created_at", "-id")
    return list(queryset[offset : offset + limit]), queryset.count()


def app_profile_list(*, limit: int, offset: int) -> tuple[list[AppProfile], int]:
    """Profiles by name, each with its `entry_count`: (page, total)."""
    queryset = AppProfile.objects.annotate(entry_count=Count("entries")).order_by("name", "id")
    return list(queryset[offset : offset + limit]), AppProfile.objects.count()


def app_profile_detail(*, name: str) -> AppProfile | None:
    """The profile `name` names (or an alias of it), with `entry_list` (newest first) and `entry_count`."""
    profile = app_profile_find(name=name)
    if profile is not None:
        profile.entry_list = list(
            MemoryEntry.objects.filter(app=profile).select_related("app").order_by("-created_at", "-id")
        )
        profile.entry_count = len(profile.entry_list)
    return profile


def _mentioned_profiles(instruction: str) -> list[int]:
    """Profiles the instruction names ("Open Chrome and …"), besides the app in focus."""
    text = f" {' '.join(_WORD.findall(instruction.casefold()))} "
    found = []
    for profile in AppProfile.objects.only("id", "name", "aliases"):
        for name in _names(profile):
            phrase = " ".join(_WORD.findall(name.casefold()))
            if phrase and f" {phrase} " in text:
                found.append(profile.id)
                break
    return found


def memory_relevant(*, instruction: str, app: str | None, budget_tokens: int) -> list[dict]:
    """The global entries and those of the app in focus (and of apps the instruction names),
    best first, as many as fit in `budget_tokens`.

    Score: words shared with the instruction, plus the category's weight (warnings first), plus
    confidence, plus a bonus for app-specific entries (they are about exactly what is on screen).
    """
    words = _words(instruction or "")
    app_ids = set(_mentioned_profiles(instruction or ""))
    focused = app_profile_find(name=app) if app else None
    if focused is not None:
        app_ids.add(focused.id)
    candidates = MemoryEntry.objects.filter(app__isnull=True) | MemoryEntry.objects.filter(app_id__in=app_ids)
    scored = []
    for entry in candidates.select_related("app"):
        overlap = len(words & (_words(entry.content) | _words(" ".join(entry.tags or []))))
        score = overlap + CATEGORY_WEIGHT.get(entry.category, 0.1) + entry.confidence * 0.5
        if entry.app_id:
            score += APP_BONUS
        scored.append((score, entry.use_count, -entry.id, entry))
    scored.sort(key=lambda item: item[:3], reverse=True)

    budget_chars = max(int(budget_tokens), 0) * CHARS_PER_TOKEN
    chosen = []
    for _, _, _, entry in scored:
        cost = len(entry.content) + ENTRY_OVERHEAD_CHARS + (len(entry.app.name) if entry.app_id else 0)
        if cost > budget_chars:
            continue  # a shorter entry further down may still fit
        budget_chars -= cost
        chosen.append(
            {
                "id": entry.id,
                "content": entry.content,
                "category": entry.category,
                "appContext": entry.app.name if entry.app_id else None,
                "tags": list(entry.tags or []),
                "confidence": entry.confidence,
            }
        )
    return chosen
