"""What this process knows about itself that every execution in it must obey.

A worker that is shutting down (SIGTERM, or its server is gone) stops driving at once: every
sink answers "stop" from then on, and the owner records `interrupted` with the reason instead of
`stopped`. Outcomes that could not be written because the database was unreachable are kept here
and written again once it answers (`outcome_write`, `pending_finishes_flush`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError

logger = logging.getLogger("deskhand.runs")
T = TypeVar("T")

_shutdown = threading.Event()
_reason = ""
_pending: list[Callable[[], object]] = []
_lock = threading.Lock()


def shutdown_begin(reason: str) -> None:
    """From now on nothing in this process takes work or drives the desktop."""
    global _reason
    if not _shutdown.is_set():
        _reason = reason
        _shutdown.set()


def shutdown_reason() -> str | None:
    """Why this process is shutting down, or None while it works normally."""
    return _reason if _shutdown.is_set() else None


def outcome_write(write: Callable[[], T], *, what: str) -> T | None:
    """Write an execution's outcome now, or, when the database is unreachable (or full), once it
    answers again: kept here and tried on every sweep of this process."""
    try:
        return write()
    except DatabaseError:
        logger.warning("%s ended but its outcome could not be written yet", what, exc_info=True)
        with _lock:
            _pending.append(write)
        return None


def pending_finishes_flush() -> int:
    """Try the postponed final writes again; returns how many are still waiting."""
    with _lock:
        waiting = list(_pending)
        _pending.clear()
    failed = []
    for write in waiting:
        try:
            write()
        except Exception:  # noqa: BLE001 - still unreachable: keep it for the next pass
            failed.append(write)
    with _lock:
        _pending.extend(failed)
        return len(_pending)
