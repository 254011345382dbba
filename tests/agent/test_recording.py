"""Reading a recording back from a run's events (agent.recording), and re-filling typed text."""

from agent.recording import Refill, recording_read


def shot(ref):
    return ("screenshot", {"ref": ref, "width": 800, "height": 600, "mime": "image/png"})


def call(call_id, *actions, name="computer"):
    return ("tool_call", {"call_id": call_id, "name": name, "actions": list(actions)})


def did(call_id, kind, **data):
    return ("computer_action", {"call_id": call_id, "type": kind, **data})


def test_each_action_that_ran_is_a_step_on_the_screenshot_the_model_chose_it_on():
    events = [
        ("agent_route", {"route": "desktop", "reason": "x"}),
        call("c1", {"type": "screenshot"}),
        did("c1", "screenshot"),
        shot("s1"),
        call("c2", {"type": "click", "x": 10, "y": 20}, {"type": "type", "text": "hello"}),
        ("confirmation_required", {"kind": "gui_action", "action": {"call_id": "c2"}, "reason": "typing"}),
        ("confirmation_resolved", {"decision": "confirmed"}),
        did("c2", "click", x=10, y=20),
        did("c2", "type", text="hello"),
        shot("s2"),
        # A batch a person declined ran nothing; one that failed half-way ran its first action.
        call("c3", {"type": "keypress", "keys": ["CTRL", "Q"]}),
        ("confirmation_required", {"kind": "gui_action", "action": {"call_id": "c3"}, "reason": "quit"}),
        shot("s3"),
        call("c4", {"type": "double_click", "x": 5, "y": 6}, {"type": "click", "x": 7, "y": 8}),
        did("c4", "double_click", x=5, y=6),
        shot("s4"),
        call("c5", {"type": "x"}, name="remember"),
    ]
    recording = recording_read("run_1", events)
    assert recording.problems == []
    assert [(s.number, s.call_id, s.action["type"], s.shot) for s in recording.steps] == [
        (1, "c2", "click", "s1"),
        (2, "c2", "type", "s1"),
        (3, "c4", "double_click", "s3"),
    ]
    assert (
        recording.steps[0].confirm == {"kind": "gui_action", "reason": "typing"} and recording.steps[2].confirm is None
    )
    assert recording.typed == ["hello"] and recording.shots == ["s1", "s3"]
    assert [[s.number for s in batch] for batch in recording.batches()] == [[1, 2], [3]]


def test_a_replayed_run_reads_back_with_its_own_screens_and_coordinates():
    # A replay writes one tool_call per action, after the screenshot it found the target on.
    events = [
        shot("r1"),
        call("replay-1", {"type": "click", "x": 110, "y": 25}),
        did("replay-1", "click", x=110, y=25, source="replay"),
        call("replay-1", {"type": "type", "text": "bonjour"}),
        did("replay-1", "type", text="bonjour", source="replay"),
        shot("r2"),
        shot("r3"),
        call("call_9", {"type": "click", "x": 1, "y": 2}),
        did("call_9", "click", x=1, y=2, source="model"),
    ]
    recording = recording_read("run_2", events)
    assert [(s.call_id, s.action, s.shot) for s in recording.steps] == [
        ("replay-1", {"type": "click", "x": 110, "y": 25}, "r1"),
        ("replay-1", {"type": "type", "text": "bonjour"}, "r1"),
        ("call_9", {"type": "click", "x": 1, "y": 2}, "r3"),
    ]


def test_what_a_replay_cannot_repeat_is_named():
    shell = recording_read("r", [("tool_call", {"call_id": "c", "name": "shell", "command": "ls"})])
    assert shell.problems == ["it used the shell tool, and a replay repeats only what was done on the screen"]
    answer_only = recording_read("r", [("message", {"role": "assistant", "text": "It shows a desktop."})])
    assert answer_only.problems == ["it did nothing on the screen (its result was the model's answer)"]
    blind = recording_read("r", [call("c", {"type": "click", "x": 1, "y": 1}), did("c", "click", x=1, y=1)])
    assert blind.problems == ["no screenshot was kept of the screen step 1 aimed at"]
    orphan = recording_read("r", [shot("s"), did("c", "click", x=1, y=1)])
    assert "do not say where action 1 (click) aimed" in orphan.problems[0]


def test_typed_values_of_the_recorded_input_are_replaced_where_they_stand_alone():
    refill = Refill({"name": "Ann", "city": "Paris", "same": "x"}, {"name": "Bob", "city": "Rome", "same": "x"})
    assert refill("Ann from Paris, not Annie") == "Bob from Rome, not Annie"
    # A value inside a longer one is not replaced twice, and a new value is not replaced again.
    swap = Refill({"a": "one", "b": "one two"}, {"a": "one two", "b": "three"})
    assert swap("one two / one") == "three / one two"
    assert Refill({"text": "hello"}, {"text": "hello"})("hello") == "hello"


def test_an_input_the_recording_did_not_type_cannot_be_refilled():
    typed = ["Dear Ann", "<secret:password>"]
    refill = Refill({"name": "Ann", "note": "", "a": "v", "b": "v"}, {"name": "Bob", "note": "hi", "a": "1", "b": "2"})
    assert refill.problems(typed) == [
        ("a", "the recorded run never typed its value ('v'), so a replay cannot use a new one"),
        ("b", "it had the same value as 'a' when recorded, so which is which is unknown"),
        ("note", "the recorded run had it empty, so nothing typed can be told to come from it"),
    ]
    secret = Refill({"password": "***"}, {}, secret_names=["password"])
    assert secret.problems(typed, secret_names=["password"]) == [
        ("password", "the recording types this secret input; give it")
    ]
    assert secret.problems(typed, secret_names=["password"], secrets_given=["password"]) == []
    assert Refill({"name": "Ann"}, {"name": "Bob"}).problems(typed) == []
