"""Private files (tokens, credentials): written atomically, readable by their owner alone (mode 0600
on POSIX, a user-only access list on Windows: agent.platform.files), refused when others can read them."""

import os
import tempfile
from pathlib import Path

from agent.platform.files import exposure, restrict_to_owner


class InsecureFileError(Exception):
    """A secret file that group or others can read: someone else may already have the secret."""


def write_private_file(path: Path, content: str) -> None:
    """Write `content` so that `path` is never seen half-written nor readable by others.

    The temporary file is made private before a byte is written (a umask of 022 would otherwise
    leave a window where the secret is world-readable), fsynced, then renamed over the target (a
    rename keeps the file's permissions, on Windows its access list too).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        restrict_to_owner(fd, tmp_name)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def read_private_file(path: Path) -> str | None:
    """Return the file's text, None when it does not exist; refuse a file group or others can read."""
    path = Path(path)
    try:
        problem = exposure(path)
    except FileNotFoundError:
        return None
    if problem:
        raise InsecureFileError(problem)
    return path.read_text(encoding="utf-8")
