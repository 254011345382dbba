"""Scenario inputs marked `writeOnly: true` or `format: password` are secrets."""

import pytest

from scenarios.catalog import Scenario, load_catalog

SCHEMA = {
    "type": "object",
    "properties": {
        "user": {"type": "string"},
        "password": {"type": "string", "format": "password", "minLength": 12},
        "pin": {"type": "string", "writeOnly": True, "pattern": "^[0-9]{4}$"},
        "note": {"type": "string", "writeOnly": False, "format": "email"},
    },
}
SCENARIO = Scenario(
    id="login", title="Log in", instruction="Sign in as ${user} with ${password} and PIN $pin", input_schema=SCHEMA
)


def test_writeonly_and_password_format_mark_the_secret_inputs():
    assert SCENARIO.secret_inputs == ("password", "pin")


def test_the_instruction_carries_placeholders_never_the_values():
    instruction = SCENARIO.render_instruction({"user": "ann", "password": "hunter2-hunter2", "pin": "1234"})
    assert instruction == "Sign in as ann with <secret:password> and PIN <secret:pin>"


def test_what_is_kept_shows_each_given_secret_as_stars():
    values = {"user": "ann", "password": "hunter2-hunter2", "pin": "", "note": "x@y.z"}
    assert SCENARIO.masked(values) == {"user": "ann", "password": "***", "pin": "", "note": "x@y.z"}
    assert SCENARIO.secret_values(values) == {"password": "hunter2-hunter2"}


def test_validation_messages_never_repeat_a_secret():
    problems = SCENARIO.validate_input({"user": "ann", "password": "short-pw", "pin": "98x7"})
    assert [path for path, _ in problems] == ["password", "pin"]
    text = " ".join(message for _, message in problems)
    assert "short-pw" not in text and "98x7" not in text
    assert "*** is too short" in text


@pytest.mark.django_db
def test_a_check_that_names_a_secret_makes_the_file_broken(settings, tmp_path):
    (tmp_path / "leaky.yaml").write_text(
        "id: leaky\ntitle: Leaky\ninstruction: type ${pw}\n"
        "input: {type: object, properties: {pw: {type: string, writeOnly: true}}}\n"
        "checks: [{textInWindow: '${pw}'}]\n"
    )
    settings.SCENARIOS_DIR = tmp_path
    catalog = load_catalog()
    assert catalog.scenarios == {}
    assert catalog.errors == [
        {"file": "leaky.yaml", "error": "checks: a check cannot name the secret input 'pw' (its value is never kept)"}
    ]


def test_the_shipped_sign_in_scenario_has_a_secret_password():
    scenario = load_catalog().scenarios["web-sign-in"]
    assert scenario.secret_inputs == ("password",)
    assert "<secret:password>" in scenario.render_instruction(
        {"url": "https://example.com", "username": "ann", "password": "x" * 20}
    )
