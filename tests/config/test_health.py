"""GET /api/system/health: machine, workers, auth, scenarios and proxy, never a secret."""

import json

import pytest
from django.conf import settings
from django.utils import timezone

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
    assert [p["code"] for p in body["problems"]].count("scenarios_broken") == 1
    assert "bad.yaml" in next(p["message"] for p in body["problems"] if p["code"] == "scenarios_broken")


def codes(body: dict) -> list[str]:
    return [problem["code"] for problem in body["problems"]]


def test_without_a_desktop_health_is_degraded_and_says_why(api, monkeypatch):
    monkeypatch.setenv("DISPLAY", "")
    body = api.get("/api/system/health").json()
    assert body["machine"]["displayReachable"] is False
    assert "display_unreachable" in codes(body)
    message = next(p["message"] for p in body["problems"] if p["code"] == "display_unreachable")
    assert "DISPLAY is not set" in message
    assert body["status"] == "degraded"


def test_a_worker_with_a_desktop_is_enough_for_a_web_tier_without_one(api, monkeypatch):
    from django.utils import timezone

    monkeypatch.setenv("DISPLAY", "")
    worker = Machine.objects.create(name="desk-1", display_reachable=True, last_heartbeat=timezone.now())
    assert "display_unreachable" not in codes(api.get("/api/system/health").json())
    # A worker that stopped heartbeating no longer counts.
    Machine.objects.filter(pk=worker.pk).update(last_heartbeat=timezone.now() - timezone.timedelta(hours=1))
    assert "display_unreachable" in codes(api.get("/api/system/health").json())


def test_every_problem_is_a_sentence_with_a_code(api, monkeypatch, settings, tmp_path):
    monkeypatch.setenv("DISPLAY", "")
    (tmp_path / "bad.yaml").write_text("id: [unclosed\n")
    settings.SCENARIOS_DIR = tmp_path
    body = api.get("/api/system/health").json()
    # The model endpoint is unreachable in tests (the discard port), the display missing, a file
    # broken, and no worker is running.
    assert set(codes(body)) == {"display_unreachable", "model_endpoint_down", "scenarios_broken", "worker_down"}
    for problem in body["problems"]:
        assert problem["message"][0].isupper() and problem["message"].endswith(".")


def test_health_is_ok_when_no_problem_holds(api, desktop, monkeypatch, settings):
    # A real display (Xvfb), the model endpoints not configured, every scenario file good, a worker.
    Machine.objects.create(name="desk", last_heartbeat=timezone.now())
    monkeypatch.setenv("DISPLAY", desktop.display)
    settings.OPENAI_API_KEY = ""
    body = api.get("/api/system/health").json()
    assert body["machine"]["displayReachable"] is True
    assert body["problems"] == [] and body["status"] == "ok"


def test_health_reports_a_missing_worker_until_one_heartbeats(api):
    assert "worker_down" in codes(api.get("/api/system/health").json())
    machine = Machine.objects.create(name="desk", last_heartbeat=timezone.now())
    assert "worker_down" not in codes(api.get("/api/system/health").json())
    Machine.objects.filter(pk=machine.pk).update(last_heartbeat=None)  # its worker shut down
    assert "worker_down" in codes(api.get("/api/system/health").json())


def test_health_reports_a_nearly_full_disk_and_unwritable_logs(api, settings, tmp_path):
    settings.MIN_FREE_BYTES = 10**18  # more than any disk has
    settings.LOG_DIR = tmp_path / "missing"
    body = api.get("/api/system/health").json()
    problems = {p["code"]: p["message"] for p in body["problems"]}
    assert body["status"] == "degraded"
    assert (
        str(settings.DATA_DIR) in problems["disk_nearly_full"]
        and "DESKHAND_MIN_FREE_MB" in problems["disk_nearly_full"]
    )
    assert str(tmp_path / "missing") in problems["logs_not_writable"]


def test_health_answers_only_get(api):
    assert api.post("/api/system/health", {}, format="json").status_code == 405
