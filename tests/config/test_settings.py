"""Start-up refuses a malformed configuration, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.portable

ROOT = Path(__file__).resolve().parents[2]


def start_django(tmp_path, **env):
    environment = {**os.environ, "DESKHAND_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup()",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "name, value",
    [
        ("DATABASE_URL", "nosuchdb://x/y"),
        ("DESKHAND_MAX_BODY_BYTES", "lots"),
        ("OPENAI_BASE_URL", "ftp://example.com"),
        ("DESKHAND_CODEX_BASE_URL", "chatgpt.com"),
        ("DESKHAND_REDIS_URL", "http://127.0.0.1:6379"),
        ("CELERY_BROKER_URL", "carrier-pigeon://loft"),
        ("DESKHAND_EVENT_POLL_INTERVAL", "soon"),
        ("DESKHAND_LOG_LEVEL", "LOUD"),
        ("DESKHAND_SCREENSHOT_FORMAT", "gif"),
        ("DESKHAND_SCREENSHOT_MAX_EDGE", "big"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(tmp_path, name, value):
    result = start_django(tmp_path, **{name: value})
    assert result.returncode != 0
    assert name in result.stderr.splitlines()[-1], result.stderr[-500:]


def test_the_defaults_start_and_generate_private_secrets(tmp_path):
    env = {k: "" for k in ("DESKHAND_API_TOKEN", "DESKHAND_SECRET_KEY")}
    result = start_django(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    for name in ("api-token", "secret-key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


def test_a_token_file_others_can_read_is_refused(tmp_path):
    token = tmp_path / "api-token"
    token.write_text("shared-token-value-123456\n")
    token.chmod(0o644)
    result = start_django(tmp_path, DESKHAND_API_TOKEN="")
    assert result.returncode != 0
    assert "readable by other users" in result.stderr


@pytest.mark.parametrize("token", ["abc1234", "fifteen-chars-x"])
def test_a_token_shorter_than_16_characters_stops_start_up_saying_how_to_make_one(tmp_path, token):
    result = start_django(tmp_path, DESKHAND_API_TOKEN=token)
    assert result.returncode != 0
    message = result.stderr.splitlines()[-1]
    assert "DESKHAND_API_TOKEN is too short" in message
    assert "secrets.token_urlsafe(32)" in message
    assert token not in message


def test_a_short_token_in_the_token_file_is_refused_too(tmp_path):
    token = tmp_path / "api-token"
    token.write_text("tiny\n")
    token.chmod(0o600)
    result = start_django(tmp_path, DESKHAND_API_TOKEN="")
    assert result.returncode != 0
    assert f"read from {token}" in result.stderr.splitlines()[-1]


def test_a_16_character_token_starts(tmp_path):
    result = start_django(tmp_path, DESKHAND_API_TOKEN="sixteen-chars-ok")
    assert result.returncode == 0, result.stderr
