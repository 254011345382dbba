"""The memory API: global entries, app profiles, create (with merging of duplicates), delete."""

import pytest

from memory.models import AppProfile, MemoryEntry

pytestmark = [pytest.mark.django_db, pytest.mark.scaled, pytest.mark.portable]

CHROME = {
    "content": "User prefers Chrome over Edge for browser tasks.",
    "category": "preference",
    "appContext": "Chrome",
    "tags": ["browser", "preference"],
    "confidence": 0.9,
}


def create(api, **overrides):
    return api.post("/api/memory", {**CHROME, **overrides}, format="json")


def test_it_creates_an_entry_and_its_app_profile_on_first_use(api):
    response = create(api)
    assert response.status_code == 201
    body = response.json()
    assert body["content"] == CHROME["content"]
    assert body["category"] == "preference"
    assert body["appContext"] == "Chrome"
    assert body["tags"] == ["browser", "preference"]
    assert body["confidence"] == 0.9
    assert body["source"] == "person" and body["sourceOwnerId"] is None
    assert body["useCount"] == 0 and body["createdAt"] and body["updatedAt"]
    assert AppProfile.objects.get().name == "Chrome"


def test_a_global_entry_has_no_app_and_is_listed_as_global(api):
    created = create(api, appContext=None, content="The user's name is Ada.", category="fact").json()
    create(api)  # an app entry: not global
    body = api.get("/api/memory/global").json()
    assert body["total"] == 1
    assert [e["id"] for e in body["items"]] == [created["id"]]
    assert body["items"][0]["appContext"] is None


def test_omitted_optional_fields_take_their_defaults(api):
    response = api.post("/api/memory", {"content": "Dark mode everywhere", "category": "preference"}, format="json")
    assert response.status_code == 201
    assert response.json()["tags"] == [] and response.json()["confidence"] == 1.0
    assert response.json()["appContext"] is None


def test_a_duplicate_is_merged_not_stored_twice(api):
    first = create(api, tags=["browser"], confidence=0.5).json()
    again = create(
        api,
        content="  user prefers CHROME over edge for browser tasks ",
        appContext="chrome",
        tags=["Browser", "default"],
        confidence=0.8,
    )
    assert again.status_code == 200
    body = again.json()
    assert body["id"] == first["id"]
    assert body["tags"] == ["browser", "default"]
    assert body["confidence"] == 0.8
    assert MemoryEntry.objects.count() == 1 and AppProfile.objects.count() == 1


def test_a_lower_confidence_duplicate_keeps_the_higher_confidence(api):
    create(api, confidence=0.9)
    assert create(api, confidence=0.2).json()["confidence"] == 0.9


def test_the_same_content_for_another_app_is_a_separate_entry(api):
    create(api)
    assert create(api, appContext="Firefox").status_code == 201
    assert create(api, appContext=None).status_code == 201
    assert MemoryEntry.objects.count() == 3


def test_app_context_matches_an_alias_of_an_existing_profile(api):
    AppProfile.objects.create(name="Google Chrome", aliases=["chrome"])
    body = create(api, appContext="CHROME").json()
    assert body["appContext"] == "Google Chrome"
    assert AppProfile.objects.count() == 1


@pytest.mark.parametrize(
    "field, value",
    [
        ("content", ""),
        ("content", "   "),
        ("content", None),
        ("content", 42),
        ("content", "x" * 2001),
        ("category", "mood"),
        ("category", None),
        ("confidence", 1.5),
        ("confidence", -0.1),
        ("confidence", "high"),
        ("confidence", True),
        ("tags", "browser"),
        ("tags", [1, 2]),
        ("tags", ["x" * 41]),
        ("tags", [""]),
        ("tags", [f"t{n}" for n in range(21)]),
        ("appContext", 7),
        ("appContext", "a/b"),
    ],
)
def test_bad_input_is_refused_naming_the_field(api, field, value):
    response = create(api, **{field: value})
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["message"].startswith(f"{field}:")
    assert body["details"]["field"] == field
    assert MemoryEntry.objects.count() == 0


def test_missing_required_fields_are_named(api):
    response = api.post("/api/memory", {"category": "fact"}, format="json")
    assert response.status_code == 400 and response.json()["details"]["field"] == "content"
    response = api.post("/api/memory", {"content": "x"}, format="json")
    assert response.status_code == 400 and response.json()["details"]["field"] == "category"


def test_an_unknown_field_is_refused(api):
    response = create(api, text="typo")
    assert response.status_code == 400 and response.json()["details"]["field"] == "text"


def test_a_body_that_is_not_an_object_is_refused(api):
    response = api.post("/api/memory", [CHROME], format="json")
    assert response.status_code == 400


def test_a_form_body_is_refused(api):
    response = api.post("/api/memory", "content=x&category=fact", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_it_lists_app_profiles_with_entry_counts(api):
    create(api)
    create(api, content="Bookmarks bar is hidden", category="fact")
    create(api, appContext="Terminal", content="Use zsh", category="preference")
    body = api.get("/api/memory/apps").json()
    assert body["total"] == 2
    assert [(p["name"], p["entryCount"]) for p in body["items"]] == [("Chrome", 2), ("Terminal", 1)]
    assert set(body["items"][0]) >= {"id", "name", "aliases", "notes", "createdAt", "updatedAt"}


def test_an_app_profile_is_found_by_name_or_alias_in_any_case(api):
    AppProfile.objects.create(name="Google Chrome", aliases=["chrome", "Chromium"])
    create(api, appContext="Google Chrome")
    for name in ("Google Chrome", "google chrome", "CHROME", "chromium"):
        response = api.get(f"/api/memory/apps/{name}")
        assert response.status_code == 200, name
        body = response.json()
        assert body["name"] == "Google Chrome"
        assert body["aliases"] == ["chrome", "Chromium"]
        assert [e["content"] for e in body["entries"]] == [CHROME["content"]]
        assert body["entryCount"] == 1


def test_an_unknown_app_profile_is_404(api):
    response = api.get("/api/memory/apps/Nothing")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_it_deletes_an_entry(api):
    entry = create(api).json()
    response = api.delete(f"/api/memory/{entry['id']}")
    assert response.status_code == 204
    assert not MemoryEntry.objects.exists()
    assert api.get(f"/api/memory/{entry['id']}").status_code == 404


def test_deleting_an_unknown_entry_is_404(api):
    response = api.delete("/api/memory/999999")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_non_numeric_entry_id_is_404(api):
    assert api.delete("/api/memory/abc").status_code == 404


def test_one_entry_can_be_read(api):
    entry = create(api).json()
    assert api.get(f"/api/memory/{entry['id']}").json() == entry


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/memory/global"),
        ("delete", "/api/memory/global"),
        ("post", "/api/memory/apps"),
        ("delete", "/api/memory/apps/Chrome"),
        ("get", "/api/memory"),
        ("put", "/api/memory/1"),
    ],
)
def test_a_wrong_method_is_405(api, method, path):
    response = getattr(api, method)(path, {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/api/memory/global", "/api/memory/apps", "/api/memory/apps/Chrome"])
def test_memory_needs_the_api_token(anonymous, path):
    assert anonymous.get(path).status_code == 401


def test_creating_needs_the_api_token(anonymous):
    assert anonymous.post("/api/memory", CHROME, format="json").status_code == 401
    assert not MemoryEntry.objects.exists()


def test_the_endpoints_are_documented(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/memory",
        "/api/memory/global",
        "/api/memory/apps",
        "/api/memory/apps/{name}",
        "/api/memory/{entry_id}",
    ):
        assert path in schema["paths"], path
    assert "delete" in schema["paths"]["/api/memory/{entry_id}"]
