"""Loaded with `-p` before pytest-django configures Django: test runs get their own data dir."""

import os
import tempfile

os.environ.setdefault("DESKHAND_DATA_DIR", tempfile.mkdtemp(prefix="deskhand-test-"))
os.environ.setdefault("DESKHAND_API_TOKEN", "test-token-0123456789abcdef")
# Tests never reach a real provider; the fakes set their own URLs per test.
os.environ.setdefault("OPENAI_API_KEY", "sk-test-0000000000000000000000")
os.environ.setdefault("CODEX_HOME", os.path.join(os.environ["DESKHAND_DATA_DIR"], "codex-home"))
# Nothing outside this machine: a test that forgets to point a client at a fake gets
# "connection refused" from the discard port at once instead of reaching for the internet.
os.environ.setdefault("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
os.environ.setdefault("DESKHAND_CODEX_BASE_URL", "http://127.0.0.1:9/backend-api/codex")
os.environ.setdefault("DESKHAND_CODEX_ISSUER", "http://127.0.0.1:9")
