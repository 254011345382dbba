"""GET /api/system/health: machine, workers, auth, scenarios and proxy, never a secret."""

import json

import pytest
from django.conf import settings

from runs.models import Machine

pytestmark = pytest.mark.django_db


def test_it_reports_machine_auth_scenarios_and_proxy(api):
    Machine.objects.create(name="desk-1", platform="Linux", screen_width=1280, screen_height=800)
    response = api.get("/api/system/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] in ("ok", "degraded")
    machine = body["machine"]
    assert {"hostname", "platform", "displayReachable", "cpuPercent", "memory"} <= set(machine)
    assert body["workers"][0]["name"] == "desk-1" and body["workers"][0]["online"] is False
    assert body["auth"]["api-key"]["configured"] is True
    assert body["scenarios"]["count"] >= 1
    for check in body["proxy"].values():
        assert check["status"] in ("ok", "degraded", "down", "not_configured") and "reason" in check


def test_an_unreachable_model_endpoint_is_reported_down_with_a_reason(api):
    body = api.get("/api/system/health").json()
    assert body["proxy"]["api-key"]["status"] == "down"
    assert body["proxy"]["api-key"]["reason"]
    assert body["status"] == "degraded"


def test_health_and_auth_status_never_show_a_secret(api):
    for path in ("/api/system/health", "/api/auth/status"):
        text = json.dumps(api.get(path).json())
        for secret in (settings.API_TOKEN, settings.OPENAI_API_KEY, settings.SECRET_KEY):
            assert secret not in text
        assert "sk-" not in text


def test_a_broken_scenario_file_shows_in_health_without_hiding_the_others(api, settings, tmp_path):
    (tmp_path / "good.yaml").write_text("id: good\ntitle: Good\ninstruction: do it\n")
    (tmp_path / "bad.yaml").write_text("id: [unclosed\n")
    settings.SCENARIOS_DIR = tmp_path
    body = api.get("/api/system/health").json()
    assert body["scenarios"]["count"] == 1
    assert body["scenarios"]["errors"][0]["file"] == "bad.yaml"
    assert "scenarios" in body["problems"]


def test_health_answers_only_get(api):
    assert api.post("/api/system/health", {}, format="json").status_code == 405
