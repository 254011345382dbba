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
    assert "The filter was ignored" in body
    assert len(re.findall(r"<tr data-id=", body)) == 3


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


def test_unknown_records_are_404(operator):
    assert operator.get("/runs/run_nope").status_code == 404
    assert operator.get("/live/ses_nope").status_code == 404


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
