"""Log files: one JSON line per record, one rotating file per process kind."""

import json
import logging
import logging.handlers
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# Set by the `serve` and `worker` commands; names the file this process writes.
PROCESS_KIND_ENV = "DESKHAND_PROCESS_KIND"


class JsonFormatter(logging.Formatter):
    """Machine-readable lines: the live log stream parses them back into entries."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": os.environ.get(PROCESS_KIND_ENV, "web"),
        }
        owner = getattr(record, "owner_id", None)
        if owner:
            entry["ownerId"] = owner
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class ProcessFileHandler(logging.handlers.RotatingFileHandler):
    """One rotating file per process kind. A file that cannot be written (a full disk, a read-only
    folder) is reported once on stderr and tried again a minute later, not once per record with a
    traceback; health lists it meanwhile (`logs_writable`)."""

    RETRY_AFTER_S = 60.0

    def __init__(self, directory: str, **kwargs):
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # reported by the first emit
        kind = os.environ.get(PROCESS_KIND_ENV, "web")
        self._failing_until = 0.0
        super().__init__(str(Path(directory) / f"deskhand-{kind}.log"), encoding="utf-8", delay=True, **kwargs)

    def emit(self, record: logging.LogRecord) -> None:
        if time.monotonic() < self._failing_until:
            return
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        if self._failing_until == 0.0 or time.monotonic() >= self._failing_until:
            error = sys.exc_info()[1]
            sys.stderr.write(
                f"Deskhand cannot write its log file {self.baseFilename}: {error}. Retrying in a minute.\n"
            )
        self._failing_until = time.monotonic() + self.RETRY_AFTER_S
        if self.stream is not None:
            try:
                self.stream.close()
            except OSError:
                pass
            self.stream = None


def logs_writable() -> bool:
    """Whether this process can write to the logs folder (health reports it when not)."""
    from django.conf import settings

    folder = Path(settings.LOG_DIR)
    return folder.is_dir() and os.access(folder, os.W_OK)
