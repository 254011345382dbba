"""Autopilot through the runs API without a worker: which recording a new run replays (`replayOf`,
`mode`), every way a request can be refused, and what retry and the records say."""

import pytest

from events.models import Event
from runs.models import Run

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.portable,
    pytest.mark.scaled,
    pytest.mark.usefixtures("no_enqueue", "machine_online"),
]


def recorded(*, scenario_id="notepad-hello", status=Run.Status.SUCCEEDED, typed="hello", input=None, tool="computer"):
    """A finished run with the events of a click and a typing, as the desktop agent writes them."""
    run = Run.objects.create(
        scenario_id=scenario_id,
        scenario={"id": scenario_id, "instruction": _instruction(scenario_id)},
        status=status,
        auth_provider="api-key",
        model="gpt-5.4",
        input=input if input is not None else {"text": "hello"},
    )
    events = [("screenshot", {"ref": "img_1", "width": 1280, "height": 800, "mime": "image/png"})]
    if tool == "computer":
        events += [
            (
                "tool_call",
                {
                    "call_id": "c1",
                    "name": "computer",
                    "actions": [{"type": "click", "x": 640, "y": 400}, {"type": "type", "text": typed}],
                },
            ),
            ("computer_action", {"call_id": "c1", "type": "click", "x": 640, "y": 400, "source": "model"}),
            ("computer_action", {"call_id": "c1", "type": "type", "text": typed, "source": "model"}),
        ]
    else:
        events.append(("tool_call", {"call_id": "c1", "name": tool, "command": "echo hello"}))
    for seq, (kind, data) in enumerate(events, 1):
        Event.objects.create(owner_id=run.pk, seq=seq, type=kind, data=data)
    return run


def _instruction(scenario_id):
    from scenarios.catalog import scenario_get

    scenario = scenario_get(scenario_id=scenario_id)
    return scenario.instruction if scenario else ""


def post(api, **body):
    return api.post("/api/runs", {"authProvider": "api-key", **body}, format="json")


def queued_reason(api, run_id):
    return api.get(f"/api/runs/{run_id}").json()["events"][0]["data"].get("reason", "")


def test_a_run_replays_the_recording_it_names_with_a_new_input(api, no_enqueue):
    original = recorded()
    response = post(api, scenarioId="notepad-hello", input={"text": "bonjour"}, replayOf=original.pk)
    assert response.status_code == 202
    run = response.json()
    assert (run["mode"], run["replayOf"], run["replayedSteps"], run["modelCalls"], run["divergedAtStep"]) == (
        "replay",
        original.pk,
        0,
        0,
        None,
    )
    assert no_enqueue == [run["id"]]
    assert queued_reason(api, run["id"]) == f"Replays {original.pk}; the model only where the screen differs."


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"replayOf": "run_nope"}, "replayOf", "no run 'run_nope'"),
        ({"mode": "model", "replayOf": "RECORDED"}, "mode", 'the mode "model" never replays'),
        ({"mode": "sometimes"}, "mode", "not a valid choice"),
        ({"replayOf": 12}, "replayOf", "Not a valid string"),
    ],
)
def test_a_request_that_contradicts_itself_or_names_no_run_is_a_400_naming_the_field(api, body, field, message):
    original = recorded()
    body = {k: original.pk if v == "RECORDED" else v for k, v in body.items()}
    response = post(api, scenarioId="notepad-hello", **body)
    assert response.status_code == 400, response.json()
    error = response.json()
    assert error["code"] == "invalid_input" and error["details"]["field"] == field and message in error["message"]
    assert Run.objects.count() == 1  # nothing half-written


def test_a_run_of_another_scenario_is_no_recording_of_this_one(api, scenarios_dir):
    other = recorded(scenario_id="web-search", input={"query": "hello"})
    response = post(api, scenarioId="notepad-hello", replayOf=other.pk)
    assert response.status_code == 400
    assert response.json()["message"] == f"replayOf: run {other.pk} is a run of 'web-search', not of 'notepad-hello'"


@pytest.mark.parametrize(
    "make, code, words",
    [
        (lambda: recorded(status=Run.Status.FAILED), "recording_not_succeeded", "is failed: only a succeeded run"),
        (lambda: recorded(tool="shell"), "recording_not_replayable", "it used the shell tool"),
        (lambda: recorded(typed="hi there"), "recording_not_refillable", "input.text: the recorded run never typed"),
    ],
)
def test_a_recording_that_cannot_serve_this_run_is_a_409_that_says_why(api, make, code, words):
    original = make()
    response = post(api, scenarioId="notepad-hello", input={"text": "bonjour"}, replayOf=original.pk)
    assert response.status_code == 409, response.json()
    error = response.json()
    assert error["code"] == code and words in error["message"], error
    assert Run.objects.count() == 1
    if code == "recording_not_refillable":
        assert error["details"]["errors"][0]["field"] == "input.text"


def test_auto_replays_the_newest_recording_that_fits_the_input(api):
    fits = recorded(typed="hello")
    recorded(typed="Hello World", input={"text": "hello world"})  # newer, but typed something else
    recorded(tool="shell")  # newest, but did shell work
    run = post(api, scenarioId="notepad-hello", input={"text": "ciao"}).json()  # autopilot: auto by default
    assert run["mode"] == "auto" and run["replayOf"] == fits.pk

    # The same input as a recording's fits it, whatever it typed; "model" never replays.
    same = post(api, scenarioId="notepad-hello", input={"text": "hello world"}).json()
    assert same["replayOf"] not in (fits.pk, None)
    assert post(api, scenarioId="notepad-hello", mode="model").json()["replayOf"] is None


def test_auto_without_a_recording_uses_the_model_and_says_so_and_replay_refuses(api, scenarios_dir):
    run = post(api, scenarioId="notepad-hello").json()
    assert run["mode"] == "auto" and run["replayOf"] is None
    assert "Autopilot found no recording to replay (there is no succeeded run" in queued_reason(api, run["id"])

    refused = post(api, scenarioId="notepad-hello", mode="replay")
    assert refused.status_code == 409 and refused.json()["code"] == "no_recording"
    # A scenario not marked autopilot runs with the model unless asked otherwise.
    plain = post(api, scenarioId="with-form", input={"email": "a@b.c"}).json()
    assert plain["mode"] == "model" and plain["replayOf"] is None


def test_a_retry_asks_the_same_way_again(api):
    original = recorded()
    replayed = post(api, scenarioId="notepad-hello", input={"text": "bonjour"}, replayOf=original.pk).json()
    Run.objects.filter(pk=replayed["id"]).update(status=Run.Status.FAILED)
    retry = api.post(f"/api/runs/{replayed['id']}/retry").json()
    assert (retry["mode"], retry["replayOf"], retry["input"]) == ("replay", original.pk, {"text": "bonjour"})

    by_model = post(api, scenarioId="notepad-hello", mode="model").json()
    Run.objects.filter(pk=by_model["id"]).update(status=Run.Status.FAILED)
    again = api.post(f"/api/runs/{by_model['id']}/retry").json()
    assert (again["mode"], again["replayOf"]) == ("model", None)


def test_the_schema_documents_the_new_fields_and_errors(api):
    schema = api.get("/api/schema/?format=json").json()
    run = schema["components"]["schemas"]["Run"]["properties"]
    assert {"mode", "replayOf", "replayedSteps", "modelCalls", "divergedAtStep"} <= set(run)
    create = schema["paths"]["/api/runs"]["post"]["responses"]["409"]["content"]["application/json"]["schema"]
    assert {"no_recording", "recording_not_refillable"} <= set(create["properties"]["code"]["enum"])
