"""GET /api/machines: every machine, whether its worker is online, what it does, what waits for it."""

import pytest
from django.utils import timezone

from runs.models import Machine, Run

pytestmark = [pytest.mark.django_db, pytest.mark.portable]


def _run(**fields) -> Run:
    return Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", **fields)


@pytest.fixture
def fleet(settings):
    """alpha drives a run, beta is idle, gamma's worker is gone; runs wait for beta and gamma."""
    now = timezone.now()
    alpha = Machine.objects.create(
        name="alpha",
        platform="Linux 6.1",
        screen_width=1280,
        screen_height=800,
        display_reachable=True,
        last_heartbeat=now - timezone.timedelta(seconds=2),
    )
    beta = Machine.objects.create(name="beta", display_reachable=True, last_heartbeat=now)
    Machine.objects.create(name="gamma", last_heartbeat=now - timezone.timedelta(hours=1))
    driving = _run(status="running", machine=alpha)
    Machine.objects.filter(pk=alpha.pk).update(desktop_holder=driving.pk)
    handed = _run(machine=beta, created_at=now - timezone.timedelta(seconds=30))
    pinned_beta = _run(requested_machine="beta", created_at=now - timezone.timedelta(seconds=20))
    pinned_gamma = _run(requested_machine="gamma")
    _run(status="succeeded", requested_machine="gamma")  # finished: waits for nothing
    _run()  # waits for any machine, not for one of them
    return {"driving": driving, "beta": [handed.pk, pinned_beta.pk], "gamma": [pinned_gamma.pk]}


def test_it_lists_each_machine_with_its_status_what_it_drives_and_the_runs_waiting_for_it(api, fleet):
    response = api.get("/api/machines")
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 50, 0)
    alpha, beta, gamma = body["items"]
    assert alpha["name"] == "alpha" and alpha["status"] == "busy" and alpha["online"] and alpha["busy"]
    assert alpha["platform"] == "Linux 6.1" and alpha["screen"] == {"width": 1280, "height": 800}
    assert alpha["displayReachable"] is True and 1.0 <= alpha["heartbeatAgeSeconds"] < 60
    assert alpha["current"] == {"kind": "run", "id": fleet["driving"].pk}
    assert (alpha["queuedRuns"], alpha["queuedRunIds"]) == (0, [])

    assert beta["status"] == "idle" and beta["online"] and not beta["busy"] and beta["current"] is None
    assert beta["screen"] is None
    assert (beta["queuedRuns"], beta["queuedRunIds"]) == (2, fleet["beta"])  # oldest first

    assert gamma["status"] == "offline" and not gamma["online"] and gamma["heartbeatAgeSeconds"] >= 3600
    assert (gamma["queuedRuns"], gamma["queuedRunIds"]) == (1, fleet["gamma"])


def test_a_live_session_driving_a_machine_is_named_as_a_session(api):
    Machine.objects.create(name="desk", last_heartbeat=timezone.now(), desktop_holder="ses_0123")
    [desk] = api.get("/api/machines").json()["items"]
    assert desk["current"] == {"kind": "session", "id": "ses_0123"}


def test_a_machine_whose_worker_shut_down_is_offline_with_no_heartbeat_age(api):
    Machine.objects.create(name="desk", last_heartbeat=None)
    [desk] = api.get("/api/machines").json()["items"]
    assert desk["status"] == "offline" and desk["heartbeatAgeSeconds"] is None and desk["lastHeartbeat"] is None


@pytest.mark.parametrize("status, names", [("idle", ["beta"]), ("busy", ["alpha"]), ("offline", ["gamma"])])
def test_it_filters_by_status(api, fleet, status, names):
    body = api.get(f"/api/machines?status={status}").json()
    assert [m["name"] for m in body["items"]] == names and body["total"] == len(names)


def test_it_pages_by_name(api, fleet):
    body = api.get("/api/machines?limit=1&offset=1").json()
    assert [m["name"] for m in body["items"]] == ["beta"] and body["total"] == 3


@pytest.mark.parametrize("query, field", [("status=online", "status"), ("status=", "status"), ("limit=0", "limit")])
def test_bad_parameters_are_refused_naming_them(api, query, field):
    response = api.get(f"/api/machines?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input" and response.json()["details"]["field"] == field


def test_it_needs_the_token_and_only_answers_get(anonymous, api):
    assert anonymous.get("/api/machines").status_code == 401
    response = api.post("/api/machines", {}, format="json")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_health_lists_the_same_machine_records_as_its_workers(api, fleet):
    workers = api.get("/api/system/health").json()["workers"]
    listed = api.get("/api/machines").json()["items"]
    strip = lambda records: [{k: v for k, v in r.items() if k != "heartbeatAgeSeconds"} for r in records]  # noqa: E731
    assert strip(workers) == strip(listed)
