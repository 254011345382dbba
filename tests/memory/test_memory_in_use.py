"""Memory as the agent uses it: ranked relevant entries within a budget, use counts, `remember`."""

import pytest

from memory.models import AppProfile, MemoryEntry
from memory.provider import DjangoMemoryProvider
from memory.services import app_profiles_merge, memory_entry_create

pytestmark = [pytest.mark.django_db, pytest.mark.scaled]


def entry(content, category="fact", app=None, tags=(), confidence=1.0):
    return memory_entry_create(
        content=content, category=category, app_context=app, tags=list(tags), confidence=confidence, source="person"
    )


def test_it_gives_the_focused_apps_entries_and_global_ones_but_not_other_apps():
    chrome = entry("Chrome opens new tabs with ctrl+t", app="Google Chrome")
    terminal = entry("The terminal uses zsh", app="Terminal")
    name = entry("The user's name is Ada", category="preference")
    AppProfile.objects.filter(name="Google Chrome").update(aliases=["chrome"])

    got = DjangoMemoryProvider().relevant("search for flights", "chrome", 1000)

    ids = [e["id"] for e in got]
    assert chrome.id in ids and name.id in ids and terminal.id not in ids
    first = next(e for e in got if e["id"] == chrome.id)
    assert first == {
        "id": chrome.id,
        "content": chrome.content,
        "category": "fact",
        "appContext": "Google Chrome",
        "tags": [],
        "confidence": 1.0,
    }


def test_an_app_named_in_the_instruction_brings_its_profile():
    gimp = entry("Export with ctrl+shift+e", app="GIMP", category="procedure")
    got = DjangoMemoryProvider().relevant("Open GIMP and export the picture", None, 1000)
    assert [e["id"] for e in got] == [gimp.id]


def test_entries_sharing_words_with_the_instruction_rank_first_and_warnings_before_equals():
    unrelated = entry("Coffee is at 10am", category="fact")
    pricing = entry("OpenAI pricing lives on the pricing page", category="fact")
    warning = entry("Never close the unsaved report window", category="warning")
    tie = entry("Files are saved in Documents", category="fact")

    got = DjangoMemoryProvider().relevant("Find the OpenAI API pricing", None, 1000)

    ids = [e["id"] for e in got]
    assert ids[0] == pricing.id
    assert ids.index(warning.id) < ids.index(tie.id)
    assert ids.index(warning.id) < ids.index(unrelated.id)


def test_tags_count_as_words_of_the_entry():
    tagged = entry("Prefer the quiet profile", tags=["browser"])
    entry("Something else entirely")
    assert DjangoMemoryProvider().relevant("open the browser", None, 1000)[0]["id"] == tagged.id


def test_the_token_budget_caps_what_is_given():
    for n in range(50):
        entry(f"Fact number {n}: " + "x" * 100)
    got = DjangoMemoryProvider().relevant("anything", None, 200)  # ~800 characters
    assert 1 <= len(got) < 10
    assert sum(len(e["content"]) for e in got) <= 800
    assert DjangoMemoryProvider().relevant("anything", None, 0) == []


def test_a_short_entry_still_fits_after_a_long_one_did_not():
    long = entry("important " * 100, category="warning")
    short = entry("Short fact")
    got = DjangoMemoryProvider().relevant("important", None, 50)
    assert [e["id"] for e in got] == [short.id]
    assert long.id not in [e["id"] for e in got]


def test_mark_used_counts_each_use():
    a = entry("A fact")
    b = entry("B fact")
    provider = DjangoMemoryProvider()
    provider.mark_used([a.id, b.id])
    provider.mark_used([a.id])
    provider.mark_used([])
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.use_count, b.use_count) == (2, 1)
    assert a.last_used_at is not None


def test_what_the_agent_remembers_is_stored_with_its_source_and_shown_by_the_api(api, settings):
    provider = DjangoMemoryProvider(owner_id="run_abc")
    saved = provider.remember(
        content="The save dialog needs two clicks",
        category="app_behavior",
        app_context="Gedit",
        tags=["dialog"],
        confidence=0.7,
    )
    assert saved.source == "agent" and saved.source_owner_id == "run_abc"
    body = api.get("/api/memory/apps/gedit").json()
    assert body["entries"][0]["source"] == "agent"
    assert body["entries"][0]["sourceOwnerId"] == "run_abc"
    assert body["entries"][0]["category"] == "app_behavior"


def test_an_unknown_category_from_the_model_is_kept_as_other():
    saved = DjangoMemoryProvider(owner_id="ses_1").remember(
        content="x marks the spot", category="trivia", app_context=None, tags=[], confidence=3
    )
    assert saved.category == "other" and saved.confidence == 1.0


def test_merging_profiles_moves_entries_and_makes_names_aliases():
    target = AppProfile.objects.create(name="Google Chrome", aliases=["gc"], notes="Main browser")
    shared = entry("Ctrl+L focuses the address bar", app="Google Chrome", tags=["keys"], confidence=0.6)
    other_only = entry("Profiles are in the top right", app="chrome")
    twin = entry("ctrl+l focuses the address bar.", app="chrome", tags=["address"], confidence=0.9)
    MemoryEntry.objects.filter(pk=twin.pk).update(use_count=3)
    chrome = AppProfile.objects.get(name="chrome")
    chrome.aliases = ["chromium"]
    chrome.notes = "Installed from snap"
    chrome.save()

    app_profiles_merge(target=target, others=[chrome])

    target.refresh_from_db()
    assert target.aliases == ["gc", "chrome", "chromium"]
    assert target.notes == "Main browser\n\nInstalled from snap"
    assert not AppProfile.objects.filter(name="chrome").exists()
    shared.refresh_from_db()
    other_only.refresh_from_db()
    assert other_only.app_id == target.id
    assert shared.tags == ["keys", "address"] and shared.confidence == 0.9 and shared.use_count == 3
    assert not MemoryEntry.objects.filter(pk=twin.pk).exists()
    # The old name now finds the merged profile.
    assert DjangoMemoryProvider().relevant("x", "Chromium", 1000)
