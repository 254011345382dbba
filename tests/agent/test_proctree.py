"""Ending a command's whole process tree with real processes. The psutil strategy is the one Windows
uses (it has no process groups); it runs on Linux too, so it is proven here."""

import subprocess
import sys
import threading
import time

import psutil
import pytest

from agent.platform.proctree import ProcessTree, own_group_options, watch_parent
from tests.fixtures.waiting import process_exited

pytestmark = pytest.mark.timeout(60)

# A shell with a background child that records its pid, then waits (or exits at once).
TREE = "sleep 60 & echo $! > {pidfile}; {rest}"


def _start(tmp_path, rest):
    pidfile = tmp_path / "child.pid"
    proc = subprocess.Popen(["sh", "-c", TREE.format(pidfile=pidfile, rest=rest)], **own_group_options())
    deadline = time.monotonic() + 10
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc, int(pidfile.read_text())


def _gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_exited(pid):
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("strategy", ["group", "psutil"])
def test_kill_ends_the_shell_and_its_children(tmp_path, strategy):
    proc, child = _start(tmp_path, "sleep 60")
    tree = ProcessTree(proc.pid, proc=proc, strategy=strategy)
    tree.track()
    tree.kill(grace_s=2.0)
    assert proc.poll() is not None and _gone(child)


@pytest.mark.parametrize("strategy", ["group", "psutil"])
def test_leftovers_of_a_finished_shell_are_ended(tmp_path, strategy):
    proc, child = _start(tmp_path, "sleep 0.3")
    tree = ProcessTree(proc.pid, proc=proc, strategy=strategy)
    while proc.poll() is None:  # as the cli agent polls: descendants are recorded while it runs
        tree.track()
        time.sleep(0.02)
    assert psutil.pid_exists(child) and not _gone(child, timeout=0.1)  # the shell left it running
    tree.kill_leftovers()
    assert _gone(child)


def test_a_worker_notices_when_its_server_is_gone():
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    noticed = threading.Event()
    watch_parent(parent.pid, on_gone=noticed.set, interval_s=0.05)
    assert not noticed.wait(0.1)
    assert noticed.wait(10)
    parent.wait()
