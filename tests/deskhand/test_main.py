"""`python -m deskhand`: what `make run` and the README's commands hand to `manage.py serve`."""

from pathlib import Path

import pytest

from deskhand import __main__ as deskhand_main


@pytest.fixture
def commands(monkeypatch):
    ran: list[list[str]] = []
    monkeypatch.setattr(deskhand_main, "install", lambda dev: Path("python"))
    monkeypatch.setattr(deskhand_main, "sh", lambda *args, env=None: ran.append([str(a) for a in args]))
    monkeypatch.setattr(
        deskhand_main, "serve", lambda python, args: ran.append([str(python), "manage.py", "serve", *args])
    )
    return ran


def test_run_hands_host_and_port_to_serve(commands):
    deskhand_main.main(["run", "--host", "127.0.0.1", "--port", "3400"])  # what `make run` sends
    assert commands == [
        ["python", "manage.py", "migrate", "--noinput"],
        ["python", "manage.py", "serve", "--host", "127.0.0.1", "--port", "3400"],
    ]


def test_run_alone_serves_with_serves_defaults(commands):
    deskhand_main.main(["run"])
    assert commands[-1] == ["python", "manage.py", "serve"]


def test_other_commands_refuse_arguments_they_do_not_know(commands, capsys):
    with pytest.raises(SystemExit) as exit_info:
        deskhand_main.main(["check", "--port", "3400"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --port 3400" in capsys.readouterr().err
    assert commands == []
