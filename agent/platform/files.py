"""Files only their owner may read, and a lock that holds across processes.

POSIX: mode 0600, set on the open descriptor before a byte is written; a file group or others can
read is refused when read. Windows has no mode bits (`chmod` only toggles read-only), so the file
gets an access list that names the current user alone (`icacls /inheritance:r /grant:r`, the tool
every Windows has). When that fails, a warning says the file is protected only by the folder it is
in. Reading on Windows does not check the access list: there is no cheap, locale-proof way to read
it without extra libraries, and every file Deskhand writes got the user-only list when written.

The lock is `filelock`'s: `flock` on POSIX, `LockFileEx` (msvcrt) on Windows.
"""

from __future__ import annotations

import getpass
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from agent.platform.system import OsName, current_os

logger = logging.getLogger("deskhand.files")


def cross_process_lock(path: Path) -> FileLock:
    """An exclusive lock on `path` (created 0600), held across processes and threads alike."""
    # A new lock object per use: two threads of one process then hold separate descriptors, and
    # the OS lock keeps them apart as it keeps processes apart. No soft-lock fallback: a lock file
    # left by a crashed process would block every later refresh.
    return FileLock(path, mode=0o600, thread_local=False, fallback_to_soft=False, preserve_lock_file=True)


def icacls_command(path: str, user: str) -> list[str]:
    """The command that leaves `path` readable by `user` alone: inherited entries removed, one
    full-control entry for the user (replacing any other entry of theirs)."""
    return ["icacls", path, "/inheritance:r", "/grant:r", f"{user}:(F)", "/q"]


def windows_user(env: dict[str, str]) -> str:
    domain = env.get("USERDOMAIN")
    user = env.get("USERNAME") or getpass.getuser()
    return f"{domain}\\{user}" if domain else user


def restrict_to_owner(
    fd: int,
    path: str,
    *,
    os_name: OsName | None = None,
    run: Callable[[list[str]], subprocess.CompletedProcess[bytes]] | None = None,
) -> bool:
    """Make a freshly created file private to the current user. True when done; False (after a
    warning) when Windows could not be asked. `os_name` and `run` are injected by tests."""
    if (os_name or current_os()) == "windows":
        return _restrict_with_icacls(path, run or _run_quietly)
    if sys.platform != "win32":
        os.fchmod(fd, 0o600)
        return True
    return False  # a POSIX decision on Windows: only a test asks for one


def _run_quietly(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, capture_output=True, timeout=15, stdin=subprocess.DEVNULL)


def _restrict_with_icacls(path: str, run: Callable[[list[str]], subprocess.CompletedProcess[bytes]]) -> bool:
    try:
        result = run(icacls_command(path, windows_user(dict(os.environ))))
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = str(exc)
    else:
        if result.returncode == 0:
            return True
        problem = (result.stderr or result.stdout or b"").decode(
            errors="replace"
        ).strip() or f"exit {result.returncode}"
    logger.warning(
        "Could not limit %s to the current user with icacls (%s): it is protected only by its folder's "
        "permissions. Keep the data folder inside your user profile.",
        path,
        problem,
    )
    return False


def exposure(path: Path, *, os_name: OsName | None = None) -> str | None:
    """Why a secret file must not be trusted (others can read it), or None. Raises FileNotFoundError."""
    mode = path.stat().st_mode
    if (os_name or current_os()) == "windows":
        return None  # no mode bits on Windows; see the module's docstring
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"{path} is readable by other users (mode {stat.S_IMODE(mode):o}); run `chmod 600 {path}` or delete it"
    return None
