"""A full disk: every write of the API answers 507 naming the data dir, never 500.

A real full disk: a small tmpfs mounted as the data dir (root only) and filled to the last byte.
"""

import errno
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from core.errors import is_disk_full
from tests.fixtures.disk import small_disk
from tests.fixtures.server import AsgiServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_data_dir(tmp_path):
    with small_disk(tmp_path / "data", "16m") as folder:
        yield folder


def fill(directory: Path) -> None:
    """Write zeros until the file system has no byte left."""
    descriptor = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        size = 1 << 20
        while size:
            try:
                os.write(descriptor, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                size //= 2
    finally:
        os.close(descriptor)


@pytest.mark.parametrize(
    "other_process_connected",
    [True, False],
    ids=["worker-connected", "web-alone"],
)
def test_writes_on_a_full_disk_answer_507_naming_the_data_dir(small_data_dir, other_process_connected):
    """With another process connected (the embedded worker), SQLite's journal files exist and the
    write itself fails ("database or disk is full"); with none, SQLite cannot even open the database
    ("disk I/O error"). Both are a full disk to the client."""
    database = small_data_dir / "deskhand.sqlite3"
    env = {
        "DESKHAND_DATA_DIR": str(small_data_dir),
        "DATABASE_URL": f"sqlite:///{database}",
        "CELERY_BROKER_URL": "filesystem://",
        "DESKHAND_REDIS_URL": "",
        # No reserve: this test is about the write that finds no room (the reserve has its own test).
        "DESKHAND_MIN_FREE_MB": "0",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    worker_connection = sqlite3.connect(database) if other_process_connected else None
    if worker_connection is not None:
        worker_connection.execute("PRAGMA journal_mode=WAL").fetchall()
        worker_connection.execute("SELECT COUNT(*) FROM django_migrations").fetchall()
    server = AsgiServer(extra_env=env)
    try:
        fill(small_data_dir)
        with server.client() as client:
            for path, body in [
                ("/api/live-sessions", {}),
                ("/api/runs", {"scenarioId": "notepad-hello", "authProvider": "api-key"}),
            ]:
                # SQLite may still find room in pages it already has; sooner or later it needs more.
                statuses = []
                for _ in range(300):
                    response = client.post(path, json=body)
                    statuses.append(response.status_code)
                    if response.status_code == 507:
                        break
                assert response.status_code == 507, statuses
                assert set(statuses[:-1]) <= {201, 202}, statuses
                assert response.json() == {
                    "code": "disk_full",
                    "message": (
                        f"A disk is full: the one holding Deskhand's data directory ({small_data_dir}), or the "
                        "database's. Nothing was saved; free some space and try again."
                    ),
                    "details": {"dataDir": str(small_data_dir)},
                }
    finally:
        server.stop()
        if worker_connection is not None:
            worker_connection.close()


def test_it_recognises_a_full_disk_however_it_is_reported():
    from django.db import utils

    try:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError as exc:
            raise utils.OperationalError(*exc.args) from exc
    except utils.OperationalError as wrapped:
        assert is_disk_full(wrapped)
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))

    class PostgresDiskFull(Exception):
        sqlstate = "53100"

    assert is_disk_full(RuntimeError("while saving")) is False
    try:
        raise RuntimeError("while saving") from PostgresDiskFull("could not extend file")
    except RuntimeError as chained:
        assert is_disk_full(chained)
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))


@pytest.mark.django_db
def test_a_page_whose_write_fails_on_a_full_disk_answers_507_too(monkeypatch):
    from django.db import OperationalError
    from django.test import Client

    from config import views

    def full(*args, **kwargs):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(views, "_operator", full)  # signing in writes the operator's user row
    response = Client(SERVER_NAME="127.0.0.1").post("/login/", {"token": settings.API_TOKEN})
    assert response.status_code == 507
    assert response.json()["code"] == "disk_full"
    assert response.json()["details"] == {"dataDir": str(settings.DATA_DIR)}
