"""`manage.py serve` starts the web server and the embedded worker, and Ctrl-C stops both."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests.fixtures.server import free_port
from tests.fixtures.waiting import process_exited, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DESKHAND_DATA_DIR": str(tmp_path),
        "DESKHAND_API_TOKEN": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "DESKHAND_REDIS_URL": "",
    }
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc, port, tmp_path
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # stops the embedded worker too
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_health(port, data_dir, proc):
    token_file = data_dir / "api-token"

    def health():
        assert proc.poll() is None, proc.stdout.read()
        if not token_file.exists():
            return None
        token = token_file.read_text().strip()
        try:
            response = httpx.get(
                f"http://127.0.0.1:{port}/api/system/health", headers={"Authorization": f"Bearer {token}"}, timeout=5
            )
        except httpx.TransportError:
            return None
        return response.json() if response.status_code == 200 else None

    return wait_until(health, 60, what="serve to answer its health check")


def test_serve_runs_web_and_worker_and_ctrl_c_stops_both(served):
    proc, port, data_dir = served
    health = wait_for_health(port, data_dir, proc)
    token_file = data_dir / "api-token"
    assert health["machine"]["hostname"]

    children = psutil.Process(proc.pid).children(recursive=True)
    assert any("worker" in " ".join(child.cmdline()) for child in children), "no embedded worker"
    # A queued run: the web process publishes to the broker, the worker takes it.
    token = token_file.read_text().strip()
    queued = httpx.post(
        f"http://127.0.0.1:{port}/api/runs",
        json={"scenarioId": "screen-describe"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert queued.status_code == 202, queued.text
    run_url = f"http://127.0.0.1:{port}/api/runs/{queued.json()['id']}"
    wait_until(
        lambda: (
            httpx.get(run_url, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["status"] != "queued"
        ),
        30,
        what="the worker to take the run",
    )

    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert token not in output, "the token itself is never printed"
    # A quiet console: one line says where the server listens and where the token is.
    serving = [line for line in output.splitlines() if line.startswith("Deskhand is serving")]
    assert len(serving) == 1 and f"http://127.0.0.1:{port}/" in serving[0] and str(token_file) in serving[0]
    for noise in ("No hostname was supplied", "[queues]", "celery@", "deskhand@", "SecurityWarning"):
        assert noise not in output, f"{noise!r} on the console:\n{output}"
    for log in (data_dir / "logs").glob("*.log"):
        assert "No hostname was supplied" not in log.read_text()
    assert not [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]


def test_the_worker_does_not_outlive_a_killed_serve(served):
    proc, port, data_dir = served
    wait_for_health(port, data_dir, proc)
    worker = next(c for c in psutil.Process(proc.pid).children(recursive=True) if "worker" in " ".join(c.cmdline()))
    proc.kill()  # no chance to stop the worker itself
    proc.wait()
    wait_until(lambda: process_exited(worker.pid), 60, what="the worker to end with its server")


def test_serve_refuses_a_port_in_use(served, tmp_path):
    proc, port, _ = served
    wait_for_health(port, tmp_path, proc)
    env = {**os.environ, "DESKHAND_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}"}
    second = subprocess.run(
        [sys.executable, "manage.py", "serve", "--port", str(port), "--no-worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode != 0
    assert "already running" in second.stderr
