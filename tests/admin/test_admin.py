"""Django admin: curating memory (search, filters, confidence, bulk delete, merge) and browsing
runs and live sessions with their events, read-only."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from events.services import event_append, screenshot_store
from memory.models import AppProfile, MemoryEntry
from memory.services import memory_entry_create
from runs.models import Run
from sessions.models import LiveSession

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def staff():
    user = get_user_model().objects.create(username="deskhand", is_staff=True, is_superuser=True)
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    return client


def entry(content, app=None, category="fact", source="person", owner=""):
    return memory_entry_create(
        content=content,
        category=category,
        app_context=app,
        tags=["t"],
        confidence=0.5,
        source=source,
        source_owner_id=owner,
    )


def test_admin_redirects_an_anonymous_visitor_to_the_token_login():
    client = Client(SERVER_NAME="127.0.0.1")
    response = client.get("/admin/memory/memoryentry/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_entry_created_through_the_api_is_visible_in_admin(api, staff):
    api.post(
        "/api/memory",
        {"content": "Chrome hides the bookmarks bar", "category": "fact", "appContext": "Chrome"},
        format="json",
    )
    page = staff.get("/admin/memory/memoryentry/").content.decode()
    assert "Chrome hides the bookmarks bar" in page


def test_memory_entries_can_be_searched_and_filtered(staff):
    entry("Use the dark theme", app="Gedit", category="preference")
    entry("Never close the report", category="warning", source="agent", owner="run_abc")
    page = staff.get("/admin/memory/memoryentry/?q=dark").content.decode()
    assert "Use the dark theme" in page and "Never close the report" not in page
    page = staff.get("/admin/memory/memoryentry/?category__exact=warning").content.decode()
    assert "Never close the report" in page and "Use the dark theme" not in page
    page = staff.get("/admin/memory/memoryentry/?source__exact=agent").content.decode()
    assert "Never close the report" in page and "Use the dark theme" not in page
    gedit = AppProfile.objects.get(name="Gedit")
    page = staff.get(f"/admin/memory/memoryentry/?app__id__exact={gedit.pk}").content.decode()
    assert "Use the dark theme" in page and "Never close the report" not in page
    page = staff.get("/admin/memory/memoryentry/?q=run_abc").content.decode()
    assert "Never close the report" in page


def test_confidence_is_editable_in_the_list(staff):
    item = entry("Something")
    response = staff.post(
        "/admin/memory/memoryentry/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(item.pk),
            "form-0-confidence": "0.25",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.confidence == 0.25


def test_an_entry_edited_in_admin_keeps_its_duplicate_key(staff, api):
    item = entry("Old text")
    response = staff.post(
        f"/admin/memory/memoryentry/{item.pk}/change/",
        {"content": "New text", "category": "fact", "app": "", "tags": "t", "confidence": "0.5"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    # The API now sees the edited content as the existing entry.
    again = api.post("/api/memory", {"content": "new text", "category": "fact"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == item.pk


def test_entries_can_be_deleted_in_bulk(staff):
    ids = [entry(f"Fact {n}").pk for n in range(3)]
    response = staff.post(
        "/admin/memory/memoryentry/",
        {"action": "delete_selected", "_selected_action": ids[:2], "post": "yes"},
    )
    assert response.status_code == 302
    assert list(MemoryEntry.objects.values_list("pk", flat=True)) == [ids[2]]


def test_app_profiles_list_search_and_change_pages_load(staff):
    entry("Ctrl+T opens a tab", app="Google Chrome")
    profile = AppProfile.objects.get()
    profile.aliases = ["chrome"]
    profile.save()
    page = staff.get("/admin/memory/appprofile/?q=chrome").content.decode()
    assert "Google Chrome" in page
    page = staff.get(f"/admin/memory/appprofile/{profile.pk}/change/").content.decode()
    assert "Ctrl+T opens a tab" in page  # the entries inline


def test_merging_profiles_asks_which_one_stays_then_merges(staff):
    entry("Ctrl+L focuses the address bar", app="Google Chrome")
    entry("Profiles are top right", app="chrome")
    keep = AppProfile.objects.get(name="Google Chrome")
    alias = AppProfile.objects.get(name="chrome")
    selected = [keep.pk, alias.pk]

    page = staff.post("/admin/memory/appprofile/", {"action": "merge_profiles", "_selected_action": selected})
    assert page.status_code == 200
    assert "Choose the profile to keep" in page.content.decode()

    done = staff.post(
        "/admin/memory/appprofile/",
        {"action": "merge_profiles", "_selected_action": selected, "target": str(keep.pk), "confirm": "yes"},
    )
    assert done.status_code == 302
    assert list(AppProfile.objects.values_list("name", flat=True)) == ["Google Chrome"]
    keep.refresh_from_db()
    assert keep.aliases == ["chrome"]
    assert MemoryEntry.objects.filter(app=keep).count() == 2


def test_merging_a_single_profile_is_refused_with_a_message(staff):
    entry("x", app="Solo")
    solo = AppProfile.objects.get()
    response = staff.post(
        "/admin/memory/appprofile/", {"action": "merge_profiles", "_selected_action": [solo.pk]}, follow=True
    )
    assert "Select at least two profiles" in response.content.decode()
    assert AppProfile.objects.count() == 1


def test_runs_are_browsable_read_only_with_their_events(staff):
    run = Run.objects.create(
        scenario_id="notepad-hello",
        title="Say hello",
        auth_provider="api-key",
        model="gpt-5.4",
        status=Run.Status.SUCCEEDED,
    )
    event_append(owner_id=run.id, type="message", data={"text": "<b>typed</b> hello"})
    shot = screenshot_store(owner_id=run.id, data=b"png", mime="image/png", width=1, height=1)
    event_append(owner_id=run.id, type="screenshot", data={"ref": shot.id})

    assert "Say hello" in staff.get("/admin/runs/run/").content.decode()
    assert "Say hello" in staff.get("/admin/runs/run/?q=notepad").content.decode()
    assert staff.get("/admin/runs/run/?status__exact=succeeded").status_code == 200
    page = staff.get(f"/admin/runs/run/{run.id}/change/").content.decode()
    assert "&lt;b&gt;typed&lt;/b&gt; hello" in page  # event data is escaped, never rendered as HTML
    assert f"/api/screenshots/{shot.id}" in page
    assert 'name="_save"' not in page  # no save button: read-only
    assert staff.get("/admin/runs/run/add/").status_code == 403
    assert staff.post(f"/admin/runs/run/{run.id}/delete/", {"post": "yes"}).status_code == 403
    assert Run.objects.filter(pk=run.id).exists()


def test_live_sessions_are_browsable_read_only_with_their_events(staff):
    session = LiveSession.objects.create(
        title="Weather check",
        auth_provider="codex-oauth",
        model="gpt-5.4",
        history=[{"role": "user", "content": "SECRET-HISTORY"}],
    )
    event_append(owner_id=session.id, type="agent_route", data={"route": "desktop"})
    assert "Weather check" in staff.get("/admin/live_sessions/livesession/").content.decode()
    page = staff.get(f"/admin/live_sessions/livesession/{session.id}/change/").content.decode()
    assert "agent_route" in page and "desktop" in page
    assert "SECRET-HISTORY" not in page
    assert staff.post(f"/admin/live_sessions/livesession/{session.id}/change/", {"title": "x"}).status_code == 403


def test_the_event_log_is_browsable_read_only(staff):
    event_append(owner_id="run_xyz", type="status", data={"status": "running"})
    page = staff.get("/admin/events/event/?q=run_xyz").content.decode()
    assert "run_xyz" in page
    assert staff.get("/admin/events/event/add/").status_code == 403


def test_admin_is_branded_deskhand_without_groups_and_users(staff):
    page = staff.get("/admin/").content.decode()
    assert "Deskhand admin" in page and "Django administration" not in page
    assert "/admin/auth/" not in page
    assert staff.get("/admin/auth/group/").status_code == 404
    assert staff.get("/admin/auth/user/").status_code == 404
    # A way back to the pages, and the same sign-out.
    assert 'href="/live"' in page and 'action="/logout/"' in page


def test_tags_and_aliases_are_edited_as_comma_separated_text(staff):
    item = entry("Tabs live at the top")
    page = staff.get(f"/admin/memory/memoryentry/{item.pk}/change/").content.decode()
    assert 'name="tags" value="t"' in page and "<textarea" not in page.split('name="tags"')[0][-200:]
    response = staff.post(
        f"/admin/memory/memoryentry/{item.pk}/change/",
        {"content": item.content, "category": "fact", "app": "", "tags": " ui,  tabs ,,", "confidence": "0.5"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    item.refresh_from_db()
    assert item.tags == ["ui", "tabs"]

    entry("Ctrl+T opens a tab", app="Google Chrome")
    profile = AppProfile.objects.get()
    page = staff.get(f"/admin/memory/appprofile/{profile.pk}/change/").content.decode()
    assert 'name="aliases"' in page
    data = {"name": "Google Chrome", "aliases": "chrome, google-chrome", "notes": ""}
    # The entries inline (management form and the one entry as it is).
    child = MemoryEntry.objects.get(app=profile)
    prefix = "entries"
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "1",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
            f"{prefix}-0-id": str(child.pk),
            f"{prefix}-0-app": str(profile.pk),
            f"{prefix}-0-content": child.content,
            f"{prefix}-0-category": child.category,
            f"{prefix}-0-tags": "t",
            f"{prefix}-0-confidence": "0.5",
        }
    )
    response = staff.post(f"/admin/memory/appprofile/{profile.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    profile.refresh_from_db()
    assert profile.aliases == ["chrome", "google-chrome"]
    listing = staff.get("/admin/memory/appprofile/").content.decode()
    assert "chrome, google-chrome" in listing and "[&#x27;chrome&#x27;" not in listing


def test_the_memory_list_gives_the_content_room(staff):
    entry("Learned by the agent", source="agent", owner="run_0123456789abcdef0123456789abcdef")
    page = staff.get("/admin/memory/memoryentry/").content.decode()
    assert "/static/web/css/admin.css" in page
    # The long run id is a short link to its run, not a column of its own width.
    assert '<a href="/runs/run_0123456789abcdef0123456789abcdef">run_01234567…</a>' in page
