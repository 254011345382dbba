"""The pages as the server renders them: who may see them, and what the first screenful holds."""

import json
import re

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

PAGES = ["/", "/runs/new", "/live", "/status"]


@pytest.mark.parametrize("path", PAGES)
def test_it_sends_a_visitor_who_is_not_signed_in_to_the_token_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("path", PAGES)
def test_it_shows_each_page_to_the_operator_without_the_api_token(operator, path):
    response = operator.get(path)
    assert response.status_code == 200
    body = response.content.decode()
    assert settings.API_TOKEN not in body
    assert '<main id="main"' in body and "<nav" in body and "<header" in body
    assert len(re.findall(r"<h1[ >]", body)) == 1
    assert 'name="csrf-token"' in body


@pytest.mark.parametrize("path", PAGES)
def test_pages_only_answer_get(operator, path):
    assert operator.post(path).status_code == 405


def test_the_history_lists_runs_and_sessions_newest_first_with_a_thumbnail(operator, seeded):
    body = operator.get("/").content.decode()
    ids = re.findall(r'<tr data-id="([^"]+)"', body)
    assert ids == [seeded["newer"].pk, seeded["session"].pk, seeded["older"].pk]
    assert "3 records" in body
    assert f'href="/runs/{seeded["newer"].pk}"' in body and f'href="/live/{seeded["session"].pk}"' in body
    # The newer run's last screenshot is its thumbnail; the others have none.
    assert re.search(r'<img src="/api/screenshots/[^"]+" alt="Last screenshot of Type hello in the text editor"', body)
    assert body.count('aria-label="No screenshot"') == 2
    assert 'data-status="succeeded"' in body and 'data-status="failed"' in body
    assert "1 min 0 s" in body and "1 min 35 s" in body  # durations


def test_the_history_filters_by_kind_and_status(operator, seeded):
    runs = operator.get("/?kind=run").content.decode()
    assert seeded["session"].pk not in runs and seeded["older"].pk in runs
    failed = operator.get("/?status=failed").content.decode()
    assert re.findall(r'<tr data-id="([^"]+)"', failed) == [seeded["older"].pk]


def test_a_bad_filter_is_explained_and_ignored(operator, seeded):
    body = operator.get("/?status=exploded&page=x").content.decode()
    assert "There is no status “exploded”, so every status is shown." in body
    assert len(re.findall(r"<tr data-id=", body)) == 3


def test_a_status_the_kind_never_has_is_dropped_and_the_kind_kept(operator, seeded):
    body = operator.get("/?kind=session&status=succeeded").content.decode()
    assert "Live sessions are never “Succeeded”, so live sessions in every status are shown." in body
    assert re.findall(r'<tr data-id="([^"]+)"', body) == [seeded["session"].pk]
    assert '<option value="session" selected>' in body
    # The status list offers only what a live session can be; the run statuses are there for the
    # page's script (hidden, disabled) when the kind changes.
    offered = re.findall(r'<option value="([a-z_]+)" data-kinds="[a-z ]+">', body)
    assert set(offered) == {"idle", "executing", "waiting_confirmation", "paused", "stopping", "closed", "interrupted"}
    assert re.search(r'<option value="succeeded" data-kinds="run" hidden disabled>', body)


def test_the_history_thumbnail_is_large_with_a_preview(operator, seeded):
    body = operator.get("/").content.decode()
    thumb = re.search(
        r'<a class="thumb-link" href="/runs/[^"]+"[^>]*><img src="([^"]+)"[^>]*width="160" height="100">', body
    )
    assert thumb, "a 160×100 thumbnail linking to its record"
    assert f'<span class="preview"><img src="{thumb.group(1)}" alt=""' in body


def test_the_history_pages(operator, seeded, monkeypatch):
    monkeypatch.setattr("web.views.PAGE_SIZE", 2)
    first = operator.get("/").content.decode()
    assert "Page 1 of 2" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = operator.get("/?page=2").content.decode()
    assert re.findall(r'<tr data-id="([^"]+)"', second) == [seeded["older"].pk]


def test_the_run_page_carries_the_run_and_its_events_as_the_api_shapes_them(operator, seeded):
    run = seeded["newer"]
    body = operator.get(f"/runs/{run.pk}").content.decode()
    data = json.loads(re.search(r'<script id="run-data" type="application/json">(.*?)</script>', body, re.S).group(1))
    api = operator.get(f"/api/runs/{run.pk}").json()
    assert data["id"] == api["id"] and data["status"] == "succeeded"
    assert [e["seq"] for e in data["events"]] == [e["seq"] for e in api["events"]]
    assert all(e["data"]["url"].startswith("/api/screenshots/") for e in data["events"] if e["type"] == "screenshot")
    assert f'href="/api/runs/{run.pk}/replay"' in body


def test_unknown_records_are_404_pages_with_navigation(operator):
    for path, why in (("/runs/run_nope", "No run run_nope."), ("/live/ses_nope", "No live session ses_nope.")):
        response = operator.get(path)
        assert response.status_code == 404
        body = response.content.decode()
        assert '<nav aria-label="Main">' in body and 'href="/runs/new"' in body and 'href="/admin/"' in body
        assert why in body and "<h1>Nothing here</h1>" in body
    unknown = operator.get("/no/such/page")
    assert unknown.status_code == 404 and "There is no page at <code>/no/such/page</code>." in unknown.content.decode()


def test_a_server_error_page_has_the_layout_and_navigation(rf):
    from config.urls import handler500

    request = rf.get("/status")
    response = handler500(request)
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on the server" in body and '<nav aria-label="Main">' in body
    assert 'href="/status"' in body
    # An API path keeps its JSON error.
    assert handler500(rf.get("/api/runs"))["Content-Type"] == "application/json"


def test_the_favicon_is_served_without_signing_in(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert 'rel="icon"' in client.get("/login/").content.decode()


def test_the_sign_in_focuses_the_token_and_brings_you_back(client):
    body = client.get("/login/?next=/status").content.decode()
    assert re.search(r'<input type="password" name="token"[^>]* autofocus', body)
    response = client.post("/login/", {"token": settings.API_TOKEN, "next": "/status"})
    assert response.status_code == 302 and response["Location"] == "/status"


def test_the_api_docs_send_a_browser_to_the_sign_in_and_back(client):
    response = client.get("/api/docs/", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/api/docs/"
    # A script asking for JSON still gets the API's answer.
    assert client.get("/api/docs/", HTTP_ACCEPT="application/json").status_code == 401
    client.post("/login/", {"token": settings.API_TOKEN, "next": "/api/docs/"})
    assert client.get("/api/docs/", HTTP_ACCEPT="text/html").status_code == 200


def test_the_header_links_to_admin_and_the_api_docs(operator):
    body = operator.get("/").content.decode()
    assert '<a href="/admin/">Admin</a>' in body and '<a href="/api/docs/">API docs</a>' in body


def test_signed_out_the_header_offers_the_sign_in(client):
    body = client.get("/login/").content.decode()
    assert 'href="/api/docs/"' not in body and ">Sign in</a>" in body


@pytest.mark.parametrize("path", ["/", "/runs/new", "/live", "/status", "/login/", "/admin/", "/api/docs/"])
def test_every_page_sends_a_content_security_policy_of_its_own_origin(operator, path):
    response = operator.get(path)
    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    body = response.content.decode()
    # Nothing on the page that the policy would block: no inline script, handler or style.
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", body), "inline <script>"
    assert not re.search(r"<style[ >]", body), "inline <style>"
    assert not re.search(r"\sstyle=\"", body), "style attribute"
    assert not re.search(r"\son[a-z]+=\"", body), "inline event handler"


def test_the_run_page_and_the_live_console_offer_pause_resume_and_stop_together(operator, seeded):
    for path, prefix in ((f"/runs/{seeded['newer'].pk}", "run"), (f"/live/{seeded['session'].pk}", "live")):
        body = operator.get(path).content.decode()
        controls = re.search(rf'<span class="actions" id="{prefix}-controls">(.*?)</span>', body, re.S).group(1)
        assert [f"{prefix}-{name}" for name in ("pause", "resume", "stop")] == re.findall(r'id="([a-z-]+)"', controls)


def test_a_provider_that_is_not_ready_cannot_be_chosen(operator):
    # Tests have an API key and no ChatGPT sign-in.
    for path in ("/runs/new", "/live"):
        body = operator.get(path).content.decode()
        assert re.search(r'<option value="api-key" selected>API key</option>', body)
        assert re.search(
            r'<option value="codex-oauth" disabled>ChatGPT account \(Codex OAuth\) \(not ready\)</option>', body
        )
        assert 'href="/status#codex-actions">Sign in with ChatGPT on the Status page</a>' in body


def test_start_a_run_offers_every_scenario_with_its_input_schema(operator):
    body = operator.get("/runs/new").content.decode()
    scenarios = json.loads(
        re.search(r'<script id="scenarios-data" type="application/json">(.*?)</script>', body, re.S).group(1)
    )
    ids = {s["id"] for s in scenarios}
    assert {"notepad-hello", "form-fill"} <= ids
    assert '<option value="notepad-hello" selected>' in body
    assert all("inputSchema" in s for s in scenarios)
    assert f'value="{settings.DEFAULT_MODEL}"' in body


def test_the_live_console_opens_a_session_with_its_events(operator, seeded):
    session = seeded["session"]
    index = operator.get("/live").content.decode()
    assert f'href="/live/{session.pk}"' in index
    body = operator.get(f"/live/{session.pk}").content.decode()
    data = json.loads(
        re.search(r'<script id="session-data" type="application/json">(.*?)</script>', body, re.S).group(1)
    )
    assert data["id"] == session.pk and "events" in data and "pendingConfirmation" in data


def test_sign_out_ends_the_session(operator):
    response = operator.post("/logout/")
    assert response.status_code == 302
    assert operator.get("/").status_code == 302
