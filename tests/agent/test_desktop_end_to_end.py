"""'Type hello into the editor and save it', end to end: the real SDK against the fake server, the real
computer on Xvfb, a real editor. The events must tell the whole story."""

import pytest

from agent.computer import get_computer
from agent.engine import Task, run_task
from agent.screen import ScreenConfig
from agent.sink import RecordingSink
from agent.transports import TransportConfig, build_client
from tests.agent.conftest import StaticTokens

pytestmark = [pytest.mark.desktop, pytest.mark.timeout(120)]


def _editor_center(editor):
    win = next(w for w in get_computer().windows() if editor.title_hint in w["title"])
    return win["x"] + win["width"] // 2, win["y"] + win["height"] // 2


def _assert_story(sink, outcome, screen_xy):
    types = sink.types()
    assert types[:2] == ["usage", "agent_route"] and sink.of_type("agent_route")[0]["route"] == "desktop"
    assert outcome.status == "succeeded" and outcome.summary == "Typed hello and saved the file."
    actions = sink.of_type("computer_action")
    assert [a["type"] for a in actions] == ["screenshot", "click", "type", "keypress"]
    click = actions[1]
    assert abs(click["x"] - screen_xy[0]) <= 2 and abs(click["y"] - screen_xy[1]) <= 2
    assert actions[2]["text"] == "hello" and actions[3]["keys"] == ["CTRL", "S"]
    shots = sink.of_type("screenshot")
    assert len(shots) == 2 and all(s["ref"] in sink.screenshots for s in shots)
    assert all("image_url" not in s and "data" not in s for s in shots)  # a reference, never base64
    results = sink.of_type("tool_result")
    assert [r["status"] for r in results] == ["ok", "ok"] and [r["screenshot"] for r in results] == [
        s["ref"] for s in shots
    ]
    assert len(sink.of_type("tool_call")) == 2
    assert sink.of_type("message")[-1]["text"] == "Typed hello and saved the file."
    usage = sink.of_type("usage")
    assert len(usage) == 4 and usage[-1]["cumulative"]["total_tokens"] == 480 == outcome.usage["total_tokens"]
    # Order of the story: call → actions → screenshot → result, per turn.
    second_call = types.index("tool_call", types.index("tool_call") + 1)
    assert types[second_call : second_call + 6] == [
        "tool_call",
        "computer_action",
        "computer_action",
        "computer_action",
        "screenshot",
        "tool_result",
    ]


def test_it_types_hello_into_the_editor_through_the_api_key_transport(desktop, editor, fake_openai):
    x, y = _editor_center(editor)  # 1280x800 fits in 1600 px: the model sees the screen 1:1
    fake_openai.add_turn(fake_openai.computer_call({"type": "screenshot"}))
    fake_openai.add_turn(
        fake_openai.computer_call(
            {"type": "click", "button": "left", "x": x, "y": y},
            {"type": "type", "text": "hello"},
            {"type": "keypress", "keys": ["CTRL", "S"]},
        )
    )
    fake_openai.add_turn(fake_openai.message("Typed hello and saved the file."))
    client = build_client(
        "api-key",
        TransportConfig(openai_api_key="sk-test-abcdefghijklmnop0123", openai_base_url=fake_openai.api_base_url),
    )
    sink = RecordingSink()
    outcome = run_task(
        Task(instruction="Type hello into the open editor and save it.", model="gpt-5.4"),
        sink=sink,
        client=client,
        computer=get_computer(),
    )
    assert editor.saved_text("hello") == "hello"
    _assert_story(sink, outcome, (x, y))
    sent = fake_openai.model_requests()
    assert sent[0].body["tools"][0] == {"type": "computer"}
    output = sent[1].body["input"][-1]
    assert output["type"] == "computer_call_output" and output["output"]["detail"] == "original"
    assert output["output"]["image_url"].startswith("data:image/png;base64,")


def test_it_types_hello_into_the_editor_through_the_codex_transport(desktop, editor, fake_openai):
    # A smaller model screenshot: the model's coordinates are in a 1000x625 image and must be scaled back.
    screen = ScreenConfig(max_long_edge=1000, image_format="jpeg")
    x, y = _editor_center(editor)
    mx, my = round(x / 1.28), round(y / 1.28)
    fake_openai.codex_rejects_builtin_computer = True  # as a backend without the computer tool
    fake_openai.add_turn(fake_openai.function_call("computer", {"actions": [{"type": "screenshot"}]}))
    fake_openai.add_turn(
        fake_openai.function_call(
            "computer",
            {
                "actions": [
                    {"type": "click", "x": mx, "y": my},
                    {"type": "type", "text": "hello"},
                    {"type": "keypress", "keys": ["CTRL", "S"]},
                ]
            },
        )
    )
    fake_openai.add_turn(fake_openai.message("Typed hello and saved the file."))
    client = build_client(
        "codex-oauth", TransportConfig(codex_base_url=fake_openai.codex_base_url), StaticTokens("tok-1")
    )
    sink = RecordingSink()
    outcome = run_task(
        Task(instruction="Type hello into the open editor and save it.", model="gpt-5.4"),
        sink=sink,
        client=client,
        computer=get_computer(),
        screen=screen,
    )
    assert editor.saved_text("hello") == "hello"
    _assert_story(sink, outcome, (x, y))
    assert sink.of_type("screenshot")[0]["width"] == 1000
    sent = fake_openai.model_requests()
    assert sent[0].body["tools"][0] == {"type": "computer"}  # refused by the backend…
    assert sent[1].body["tools"][0]["name"] == "computer"  # …so the function tool is offered
    output = sent[2].body["input"][-1]
    assert output["type"] == "function_call_output"
    image = next(p for p in output["output"] if p["type"] == "input_image")
    assert image["detail"] == "original" and image["image_url"].startswith("data:image/jpeg;base64,")
    assert all(r.body["stream"] is True and r.body["store"] is False for r in sent[1:])
