"""Reads of the log folder ($DESKHAND_DATA_DIR/logs): the listing, one file, and parsed entries.

A requested file name is never joined to a path as given. It must match a strict pattern and be
one of the names the folder's own listing returns as a regular file (not a symlink, not a folder),
and it is opened with O_NOFOLLOW. Prefix checks on joined paths are the classic way to get this
wrong (a sibling folder `logsx/` starts with `logs`), so there are none.
"""

import json
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from core.errors import NotFound

# Letters, digits, dot, dash, underscore; no leading dot; `.log` with an optional rotation number.
FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.log(?:\.[0-9]{1,3})?")
# The files processes write now (rotated copies end in .log.N and are never appended to).
LIVE_FILENAME = re.compile(r"deskhand-[A-Za-z0-9_-]{1,64}\.log")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_TAIL_LINES = 100_000


def log_dir() -> Path:
    return Path(settings.LOG_DIR)


def log_file_stats() -> dict[str, os.stat_result]:
    try:
        entries = list(os.scandir(log_dir()))
    except FileNotFoundError:
        return {}
    found = {}
    for entry in entries:
        if not FILENAME.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # removed by rotation while we looked
        if stat.S_ISREG(info.st_mode):
            found[entry.name] = info
    return found


def log_file_list() -> list[dict]:
    files = log_file_stats()
    return [
        {
            "name": name,
            "size": info.st_size,
            "modified": datetime.fromtimestamp(info.st_mtime, tz=UTC).isoformat(),
        }
        for name, info in sorted(files.items())
    ]


def log_file_open(*, filename: str):
    """An open binary file for a name from the folder's listing; NotFound for anything else."""
    if not isinstance(filename, str) or not FILENAME.fullmatch(filename) or filename not in log_file_stats():
        raise NotFound("No such log file")
    folder = log_dir()
    path = folder / filename
    try:
        # O_NOFOLLOW: the name could have been swapped for a symlink since the listing.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        raise NotFound("No such log file") from None
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode) or not path.resolve().is_relative_to(folder.resolve()):
        handle.close()
        raise NotFound("No such log file")
    return handle


def read_tail(handle, lines: int, *, block: int = 64 * 1024) -> bytes:
    """The last `lines` lines of an open binary file, reading backwards a block at a time."""
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    position = end
    data = b""
    # One more newline than lines wanted: the text after it is exactly the last `lines` lines
    # (a final newline ends the last line, it does not start a new one).
    wanted = lines + 1 if end and _last_byte(handle, end) == b"\n" else lines
    while position > 0 and data.count(b"\n") < wanted:
        step = min(block, position)
        position -= step
        handle.seek(position)
        data = handle.read(step) + data
    parts = data.split(b"\n")
    keep = parts[-wanted:] if len(parts) > wanted else parts
    return b"\n".join(keep)


def _last_byte(handle, end: int) -> bytes:
    handle.seek(end - 1)
    return handle.read(1)


def parse_line(line: str) -> dict | None:
    """One log entry from one JSON line; a line that is not ours is kept as a plain message."""
    line = line.strip()
    if not line:
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        return {"time": None, "level": None, "logger": None, "message": line, "process": None}
    return entry


def entry_matches(entry: dict, *, min_level: str | None, owner_id: str | None) -> bool:
    if min_level and (entry.get("level") not in LEVELS or LEVELS.index(entry["level"]) < LEVELS.index(min_level)):
        return False
    return not owner_id or entry.get("ownerId") == owner_id
