"""Free space in the data dir: runs, screenshots, logs and the database all live there."""

from __future__ import annotations

import shutil

from django.conf import settings


def data_dir_free_bytes() -> int:
    return shutil.disk_usage(settings.DATA_DIR).free


def disk_nearly_full() -> str | None:
    """A sentence naming the data dir when its free space is below DESKHAND_MIN_FREE_MB, else None."""
    free = data_dir_free_bytes()
    if free >= settings.MIN_FREE_BYTES:
        return None
    return (
        f"The disk of the data dir {settings.DATA_DIR} is nearly full: {free // 1_000_000} MB free, below the "
        f"{settings.MIN_FREE_BYTES // 1_000_000} MB Deskhand keeps in reserve (DESKHAND_MIN_FREE_MB). Free some "
        "space (old runs can be deleted from the history)."
    )
