"""The API against its own schema, fuzzed: schemathesis drives a live Daphne server through every
non-streaming operation with the API token; no answer may be a 5xx, and every answer must conform
to the schema (status code, content type, body).

Seeded, and about a minute here; `make fuzz` runs the same for longer with every phase and check
(DESKHAND_FUZZ_SECONDS, DESKHAND_FUZZ_PHASES, DESKHAND_FUZZ_CHECKS, DESKHAND_FUZZ_SEED).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.fakes.oauth_issuer import FakeOAuthIssuer
from tests.fixtures.server import ROOT, AsgiServer, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.desktop, pytest.mark.timeout(1800)]

SECONDS = int(os.environ.get("DESKHAND_FUZZ_SECONDS", "60"))
PHASES = os.environ.get("DESKHAND_FUZZ_PHASES", "examples,coverage,fuzzing,stateful")
CHECKS = os.environ.get(
    "DESKHAND_FUZZ_CHECKS",
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
)
SEED = os.environ.get("DESKHAND_FUZZ_SEED", "20260301")
ARTIFACTS = ROOT / "test-artifacts" / "fuzz"
# Streams never end by themselves: they are tested in their own apps, through real sockets.
STREAMS = r"/events$|/screen-stream$|/logs/stream$"


@pytest.fixture
def fuzzed_server(desktop, tmp_path):
    """The server with the parts a user has: a desktop to observe (Xvfb), a ChatGPT sign-in
    service to talk to (the fake issuer, the one thing outside the machine), its own data dir
    (broker, logs, screenshots) and its own sign-in callback port."""
    with FakeOAuthIssuer() as issuer:
        server = AsgiServer(
            extra_env={
                "DESKHAND_DATA_DIR": str(tmp_path / "data"),
                "CODEX_HOME": str(tmp_path / "codex-home"),
                "DESKHAND_CODEX_ISSUER": issuer.url,
                "DESKHAND_CODEX_CALLBACK_PORT": str(free_port()),
                "DISPLAY": desktop.display,
                # The fuzzer sends wrong tokens on purpose (the auth checks): the sign-in throttle,
                # tested on its own, would otherwise answer every later request 429.
                "DESKHAND_SIGNIN_FAILURES_PER_MINUTE": "1000000",
            }
        )
        yield server
        server.stop()


def test_every_operation_answers_as_its_schema_says(fuzzed_server, tmp_path):
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{fuzzed_server.url}/api/schema/",
        "--header",
        f"Authorization: Bearer {settings.API_TOKEN}",
        # "all": every check, as schemathesis.toml tunes them per operation.
        *(["--checks", CHECKS] if CHECKS != "all" else []),
        "--phases",
        PHASES,
        "--max-time",
        str(SECONDS),
        "--seed",
        SEED,
        "--workers",
        "1",
        "--exclude-path-regex",
        STREAMS,
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    # From the repository root: schemathesis reads schemathesis.toml there.
    result = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS * 4 + 300, cwd=ROOT)
    # What was covered, kept for a person to read (how many cases, which phases, which warnings).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"schemathesis-{SECONDS}s.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
