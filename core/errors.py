"""Domain errors. Every error the API reports has one shape: {"code", "message", "details"}.

Services raise these; `config.api_errors.exception_handler` renders them (and DRF's own errors)
into that shape.
"""

import errno
import shutil
from pathlib import Path

# Less free space than this, and an I/O error is taken for a full disk.
NO_SPACE_BYTES = 1 << 20


class AppError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class InvalidInput(AppError):
    code = "invalid_input"
    http_status = 400

    def __init__(self, field: str, message: str, *, details: dict | None = None):
        super().__init__(f"{field}: {message}", details={"field": field, **(details or {})})
        self.field = field


class NotFound(AppError):
    code = "not_found"
    http_status = 404


class Conflict(AppError):
    code = "conflict"
    http_status = 409


class Unavailable(AppError):
    code = "unavailable"
    http_status = 503


class DiskFull(AppError):
    code = "disk_full"
    http_status = 507


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception it was raised from, says the disk is full.

    The operating system's ENOSPC/EDQUOT (a file write), SQLite's "database or disk is full"
    (SQLITE_FULL, wrapped by Django as OperationalError), PostgreSQL's disk_full (SQLSTATE 53100).
    SQLite says only "disk I/O error" when it cannot even create its journal files to open the
    database; that counts when the disk holding the data has no space left.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(exc, "sqlstate", None) == "53100":
            return True
        text = str(exc).lower()
        if "database or disk is full" in text or "no space left on device" in text:
            return True
        if "disk i/o error" in text and _data_disk_has_no_space():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _data_disk_has_no_space() -> bool:
    from django.conf import settings

    folders = {Path(settings.DATA_DIR)}
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        folders.add(Path(database["NAME"]).parent)
    for folder in folders:
        try:
            if shutil.disk_usage(folder).free < NO_SPACE_BYTES:
                return True
        except OSError:
            continue
    return False


def disk_full_error() -> DiskFull:
    """The error to report for a write that failed on a full disk, naming where the data lives."""
    from django.conf import settings

    return DiskFull(
        f"A disk is full: the one holding Deskhand's data directory ({settings.DATA_DIR}), or the database's. "
        "Nothing was saved; free some space and try again.",
        details={"dataDir": str(settings.DATA_DIR)},
    )
