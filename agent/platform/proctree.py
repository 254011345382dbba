"""Child processes: start one in a group of its own, end its whole tree, stop a worker gently.

POSIX: a new session (`setsid`) makes the command a process group; `killpg` reaches every process in
it, even one whose parent already exited. Windows has no process groups of that kind, so the tree
is followed with psutil: descendants are recorded while the command runs (`track`), because a child
whose parent has exited can no longer be found from that parent, and all of them are ended at the
end. Either strategy runs on any OS, so the Windows one is tested here on Linux too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

import psutil

Strategy = Literal["group", "psutil"]


def default_strategy() -> Strategy:
    return "psutil" if sys.platform == "win32" else "group"


def own_group_options(strategy: Strategy | None = None) -> dict[str, Any]:
    """Popen keyword arguments that start a child in a group of its own (and, on Windows, without a
    console window of its own, and able to receive CTRL_BREAK_EVENT)."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW}
    return {"start_new_session": True}


class ProcessTree:
    """The tree under one child process. `kill()` ends all of it, politely first.

    `proc`, when the process is our child, is waited on through Popen so its exit code is kept."""

    def __init__(self, pid: int, *, proc: subprocess.Popen[bytes] | None = None, strategy: Strategy | None = None):
        self.pid = pid
        self.proc = proc
        self.strategy: Strategy = strategy or default_strategy()
        self._seen: dict[int, psutil.Process] = {}

    def track(self) -> None:
        """Remember the current descendants (psutil strategy); call it while the command runs."""
        if self.strategy != "psutil":
            return
        try:
            for child in psutil.Process(self.pid).children(recursive=True):
                self._seen.setdefault(child.pid, child)
        except psutil.Error:
            pass

    def kill(self, grace_s: float = 2.0) -> None:
        """Terminate, wait up to `grace_s` for the command to end, then kill what is left."""
        if self.strategy == "group":
            self._kill_group(grace_s)
        else:
            self._kill_tracked(grace_s)

    def kill_leftovers(self) -> None:
        """The command exited; end at once whatever it left running in the background."""
        if self.strategy == "group":
            self._signal_group(kill=True)
        else:
            self._kill_tracked(0.0)

    def _wait_leader(self, timeout_s: float) -> bool:
        if self.proc is not None:
            try:
                self.proc.wait(timeout=timeout_s)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                process = psutil.Process(self.pid)
                try:
                    process.wait(timeout=0.05)  # reaps it when it is our child
                    return True
                except psutil.TimeoutExpired:
                    # Dead, waiting for a parent that is not us to collect it: gone for our purposes.
                    if process.status() == psutil.STATUS_ZOMBIE:
                        return True
            except psutil.Error:
                return True
            if time.monotonic() >= deadline:
                return False

    # -- POSIX --
    def _signal_group(self, *, kill: bool) -> bool:
        """Signal the whole group; False when it is already gone."""
        if sys.platform == "win32":
            raise RuntimeError("process groups are the POSIX strategy; Windows uses psutil")
        else:
            try:
                os.killpg(self.pid, signal.SIGKILL if kill else signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                return False
            return True

    def _kill_group(self, grace_s: float) -> None:
        for kill, wait_s in ((False, grace_s), (True, 5.0)):
            if not self._signal_group(kill=kill) or self._wait_leader(wait_s):
                return

    # -- Windows (and anywhere psutil runs) --
    def _kill_tracked(self, grace_s: float) -> None:
        self.track()
        processes = list(self._seen.values())
        try:
            processes.insert(0, psutil.Process(self.pid))
        except psutil.Error:
            pass
        alive = []
        for process in processes:
            try:
                # is_running() compares the start time too: never a new process that reused a pid.
                if process.is_running():
                    if grace_s > 0:
                        process.terminate()
                    else:
                        process.kill()
                    alive.append(process)
            except psutil.Error:
                continue
        if grace_s > 0:
            _, alive = psutil.wait_procs(alive, timeout=grace_s)
            for process in alive:
                try:
                    process.kill()
                except psutil.Error:
                    pass
        psutil.wait_procs(alive, timeout=5.0)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5.0)  # collect the exit code through Popen
            except subprocess.TimeoutExpired:
                pass


def end_tree(pid: int, grace_s: float = 10.0) -> None:
    """End a process started earlier in a group of its own (the managed browser), and its tree."""
    ProcessTree(pid).kill(grace_s)


# -- a worker beside `serve` --


def request_stop(proc: subprocess.Popen[bytes]) -> None:
    """Ask a child started with `own_group_options` to stop as Celery does on Ctrl-C (warm shutdown;
    SIGTERM is kept for "the parent is gone", see `die_with_parent_preexec`). Windows has no signals
    between processes but a hard kill; CTRL_BREAK_EVENT reaches a child in its own process group, and
    `on_stop_request` turns it into the interrupt Celery handles."""
    if sys.platform == "win32":
        proc.send_signal(signal.CTRL_BREAK_EVENT)
    else:
        proc.send_signal(signal.SIGINT)


def on_stop_request() -> None:
    """In the worker: make Windows' CTRL_BREAK_EVENT a Ctrl-C (Celery's warm shutdown). POSIX needs
    nothing: Celery handles SIGTERM itself."""
    if sys.platform == "win32":
        signal.signal(signal.SIGBREAK, lambda signum, frame: signal.raise_signal(signal.SIGINT))


def stop_self() -> None:
    """Ask this process to stop as `request_stop` would."""
    if sys.platform == "win32":
        signal.raise_signal(signal.SIGINT)
    else:
        os.kill(os.getpid(), signal.SIGTERM)


def die_with_parent_preexec() -> Callable[[], None] | None:
    """Linux: a `preexec_fn` after which the child gets SIGTERM when its parent dies, however it dies
    (the kernel's PR_SET_PDEATHSIG). Elsewhere None: `watch_parent` does it from inside the child."""
    if sys.platform.startswith("linux"):
        return _set_parent_death_signal
    return None


def _set_parent_death_signal() -> None:
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def watch_parent(parent_pid: int, on_gone: Callable[[], None], interval_s: float = 1.0) -> threading.Thread:
    """Call `on_gone` once when `parent_pid` is no longer running (macOS and Windows, where there is
    no parent-death signal). Starts a daemon thread and returns it."""
    try:
        parent: psutil.Process | None = psutil.Process(parent_pid)
    except psutil.Error:
        parent = None

    def watch() -> None:
        while parent is not None and parent.is_running() and parent.status() != psutil.STATUS_ZOMBIE:
            time.sleep(interval_s)
        on_gone()

    thread = threading.Thread(target=watch, name="deskhand-parent-watch", daemon=True)
    thread.start()
    return thread
