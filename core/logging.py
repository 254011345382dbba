"""Log files: one JSON line per record, one rotating file per process kind."""

import json
import logging
import logging.handlers
import os
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
    def __init__(self, directory: str, **kwargs):
        Path(directory).mkdir(parents=True, exist_ok=True)
        kind = os.environ.get(PROCESS_KIND_ENV, "web")
        super().__init__(str(Path(directory) / f"deskhand-{kind}.log"), encoding="utf-8", delay=True, **kwargs)
