"""GUI risk rules: which computer-action batches wait for a person (kind "gui_action"), through the
engine with the fake model server and a screenless computer, plus the rules themselves."""

import pytest

from agent.engine import Task, run_task
from agent.risk import gui_risk
from agent.screen import ScreenConfig
from agent.sink import RecordingSink
from agent.transports import TransportConfig, build_client
from tests.fakes.computer import FakeComputer

FAST = ScreenConfig(settle_quiet_s=0.0, settle_max_s=0.1)
pytestmark = [pytest.mark.timeout(60), pytest.mark.portable]
EDITOR = [{"title": "notes.txt - Mousepad", "app": "mousepad", "focused": True}]
TERMINAL = [{"title": "user@host: ~", "app": "xfce4-terminal", "focused": True}]


class Computer(FakeComputer):
    def __init__(self, windows):
        super().__init__()
        self._windows = windows

    def windows(self):
        return self._windows


def _run(fake, actions, *, answers=(), windows=EDITOR, protected=()):
    fake.add_turn(fake.computer_call(*actions))
    fake.add_turn(fake.message("done"))
    client = build_client(
        "api-key",
        TransportConfig(
            openai_api_key="sk-test-0123456789abcdefgh", openai_base_url=fake.api_base_url, retry_base_delay_s=0.01
        ),
    )
    sink, computer = RecordingSink(list(answers)), Computer(windows)
    outcome = run_task(
        Task(instruction="do it", model="gpt-5.4", route="desktop"),
        sink=sink,
        client=client,
        computer=computer,
        screen=FAST,
        protected_paths=protected,
    )
    return outcome, sink, computer


def test_a_session_ending_key_combo_waits_for_a_person_and_a_decline_runs_nothing(fake_openai):
    actions = [{"type": "click", "x": 5, "y": 5}, {"type": "keypress", "keys": ["CTRL", "ALT", "DELETE"]}]
    outcome, sink, computer = _run(fake_openai, actions, answers=["declined"])
    asked = sink.confirmations[0]
    assert asked.kind == "gui_action" and asked.action["actions"] == actions
    assert "ctrl+alt+delete" in asked.reason
    assert computer.actions == []  # not even the harmless click before it
    assert sink.of_type("tool_result")[0]["status"] == "declined"
    told = fake_openai.model_requests()[1].body["input"][-1]["content"][0]["text"]
    assert "declined" in told and "ctrl+alt+delete" in told


def test_a_confirmed_risky_batch_runs_in_full(fake_openai):
    actions = [{"type": "keypress", "keys": ["ctrl", "alt", "backspace"]}]
    outcome, sink, computer = _run(fake_openai, actions, answers=["confirmed"])
    assert sink.confirmations[0].kind == "gui_action" and computer.actions == [
        ("keypress", ("ctrl", "alt", "backspace"))
    ]
    assert sink.of_type("tool_result")[0]["status"] == "ok"


def test_ordinary_batches_and_alt_f4_run_without_asking(fake_openai):
    actions = [
        {"type": "click", "x": 5, "y": 5},
        {"type": "type", "text": "hello, rm -rf is a command"},
        {"type": "keypress", "keys": ["CTRL", "S"]},
        {"type": "keypress", "keys": ["ALT", "F4"]},
    ]
    outcome, sink, computer = _run(fake_openai, actions)
    assert sink.confirmations == [] and len(computer.actions) == 4


@pytest.mark.parametrize(
    "text",
    [
        "sk-proj-abcdefghijklmnopqrstuvwx",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",
    ],
)
def test_typing_a_secret_waits_for_a_person(fake_openai, text):
    outcome, sink, computer = _run(fake_openai, [{"type": "type", "text": text}], answers=["declined"])
    assert sink.confirmations[0].kind == "gui_action" and "looks like" in sink.confirmations[0].reason
    assert computer.actions == []


def test_a_dangerous_command_typed_into_a_terminal_waits_but_not_into_an_editor(fake_openai):
    command = [{"type": "type", "text": "sudo rm -rf /var/lib/thing\n"}]
    _, sink, computer = _run(fake_openai, command, answers=["declined"], windows=TERMINAL)
    assert "dangerous shell command" in sink.confirmations[0].reason and computer.actions == []
    _, sink, computer = _run(fake_openai, command, windows=EDITOR)
    assert sink.confirmations == [] and computer.actions == [("type", command[0]["text"])]


def test_typing_deskhands_token_or_data_path_waits(fake_openai):
    token = "dh-token-0123456789"
    _, sink, computer = _run(
        fake_openai,
        [{"type": "type", "text": f"curl -H 'Authorization: Bearer {token}'"}],
        answers=["declined"],
        protected=["/srv/deskhand/data", token],
    )
    asked = sink.confirmations[0]
    assert "Deskhand's own token" in asked.reason and token not in asked.reason and computer.actions == []


@pytest.mark.parametrize(
    "actions, windows, expected",
    [
        (
            [{"type": "keypress", "keys": ["ctrl", "alt", "t"]}, {"type": "type", "text": "mkfs.ext4 /dev/sdb1"}],
            EDITOR,
            ["opens a terminal", "dd of=, …"],
        ),
        ([{"type": "keypress", "keys": ["super", "r"]}], EDITOR, ["opens a run dialog"]),
        ([{"type": "keypress", "keys": ["ctrl", "alt", "F3"]}], EDITOR, ["text console"]),
        ([{"type": "type", "text": "dd if=/dev/zero of=/dev/sda"}], None, ["dangerous shell command"]),
        (
            [{"type": "click", "x": 1, "y": 1}, {"type": "type", "text": "sudo reboot"}],
            EDITOR + [{"title": "xterm", "app": "xterm", "focused": False}],
            ["dangerous shell command"],
        ),
        ([{"type": "keypress", "keys": ["ctrl", "alt", "delete", "x"]}], EDITOR, []),
        ([{"type": "keypress", "keys": ["NOSUCHKEY"]}], EDITOR, []),
    ],
)
def test_the_rules(actions, windows, expected):
    reasons = " | ".join(gui_risk(actions, windows=windows))
    assert all(part in reasons for part in expected) and bool(reasons) == bool(expected), reasons


def test_a_model_safety_check_and_a_rule_make_one_question(fake_openai):
    check = {"id": "sc_1", "code": "malicious_instructions", "message": "The page asks for this."}
    fake_openai.add_turn(
        fake_openai.computer_call({"type": "type", "text": "sk-proj-abcdefghijklmnopqrstuvwx"}, safety_checks=[check])
    )
    fake_openai.add_turn(fake_openai.message("done"))
    client = build_client(
        "api-key",
        TransportConfig(openai_api_key="sk-test-0123456789abcdefgh", openai_base_url=fake_openai.api_base_url),
    )
    sink, computer = RecordingSink(["confirmed"]), Computer(EDITOR)
    run_task(
        Task(instruction="do it", model="gpt-5.4", route="desktop"),
        sink=sink,
        client=client,
        computer=computer,
        screen=FAST,
    )
    assert len(sink.confirmations) == 1 and sink.confirmations[0].kind == "safety_check"
    assert "The page asks for this." in sink.confirmations[0].reason and "API key" in sink.confirmations[0].reason
    assert computer.actions == [("type", "sk-proj-abcdefghijklmnopqrstuvwx")]
