"""Private files (tokens, credentials): written atomically with mode 0600, refused when others can read them."""

import os
import stat
import tempfile
from pathlib import Path


class InsecureFileError(Exception):
    """A secret file that group or others can read: someone else may already have the secret."""


def write_private_file(path: Path, content: str) -> None:
    """Write `content` so that `path` is never seen half-written nor readable by others.

    The temporary file is created 0600 before a byte is written (a umask of 022 would otherwise
    leave a window where the secret is world-readable), fsynced, then renamed over the target.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
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
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InsecureFileError(
            f"{path} is readable by other users (mode {stat.S_IMODE(mode):o}); run `chmod 600 {path}` or delete it"
        )
    return path.read_text(encoding="utf-8")
