"""`GET /api/logs/stream`: live log entries from every process (web and workers), as SSE.

Each process writes its own JSON-lines file (`deskhand-<process>.log`, see core/logging.py); the
stream follows all of them. The log files are the store: a reader that reconnects with
`Last-Event-ID` (the time of the last entry it saw) gets what it missed from the files' tails.
Rotation renames a file to `.log.1` and starts a new one; the follower keeps reading the renamed
file to its end before it switches, so no line written around a rotation is lost.
"""

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from core.errors import AppError, InvalidInput
from core.openapi import EventStreamResponse, errors
from core.pagination import query_param, whole_number
from events.streams import sse_message, sse_response, sse_view
from logs.selectors import LEVELS, LIVE_FILENAME, entry_matches, log_dir, log_file_open, log_file_stats, parse_line

DEFAULT_CATCH_UP = 100
MAX_CATCH_UP = 1000
# How far back in each file catch-up looks for its entries.
CATCH_UP_BYTES = 1_000_000
OWNER_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
ENTRY_TIME = re.compile(r"[0-9T:.+\-Z]{10,40}")


def _poll_seconds() -> float:
    return settings.LOG_STREAM_POLL_SECONDS


class _FollowedFile:
    def __init__(self, handle, position: int):
        self.handle = handle
        self.inode = os.fstat(handle.fileno()).st_ino
        self.position = position
        self.pending = b""

    def read_new(self) -> list[str]:
        self.handle.seek(self.position)
        data = self.handle.read()
        self.position += len(data)
        data = self.pending + data
        *lines, self.pending = data.split(b"\n")
        return [line.decode("utf-8", "replace") for line in lines]

    def close(self) -> None:
        self.handle.close()


class LogFollower:
    """Follows every `deskhand-*.log` in the log folder. Synchronous file I/O: call it in a thread."""

    def __init__(self, *, min_level: str | None, owner_id: str | None):
        self.min_level = min_level
        self.owner_id = owner_id
        self.files: dict[str, _FollowedFile] = {}

    def _keep(self, entries: list[dict]) -> list[dict]:
        return [e for e in entries if entry_matches(e, min_level=self.min_level, owner_id=self.owner_id)]

    def catch_up(self, *, count: int, after: str | None) -> list[dict]:
        """The last `count` matching entries (after time `after` when resuming); following starts here."""
        found: list[dict] = []
        listing = log_file_stats()
        for name in sorted(listing):
            if LIVE_FILENAME.fullmatch(name):
                found += self._start(name)
            elif name.endswith(".log.1") and LIVE_FILENAME.fullmatch(name[:-2]):
                # The previous file of a process that rotated recently holds the rest of the recent past.
                found += self._tail_lines(name)
        found = self._keep(found)
        if after:
            found = [e for e in found if (e.get("time") or "") > after]
        found.sort(key=lambda e: e.get("time") or "")
        return found[-count:] if count else []

    def _start(self, name: str) -> list[dict]:
        try:
            handle = log_file_open(filename=name)
        except AppError:
            return []
        end = handle.seek(0, 2)
        start = max(0, end - CATCH_UP_BYTES)
        handle.seek(start)
        data = handle.read(end - start)
        self.files[name] = _FollowedFile(handle, end)
        lines = data.split(b"\n")
        if start > 0:
            lines = lines[1:]  # the first one is cut
        if data and not data.endswith(b"\n"):
            self.files[name].pending = lines.pop()
        return [e for e in (parse_line(line.decode("utf-8", "replace")) for line in lines) if e]

    def _tail_lines(self, name: str) -> list[dict]:
        try:
            handle = log_file_open(filename=name)
        except AppError:
            return []
        with handle:
            end = handle.seek(0, 2)
            start = max(0, end - CATCH_UP_BYTES)
            handle.seek(start)
            lines = handle.read().split(b"\n")
        if start > 0:
            lines = lines[1:]
        return [e for e in (parse_line(line.decode("utf-8", "replace")) for line in lines) if e]

    def poll(self) -> list[dict]:
        """Entries written since the last call, from every process's file, oldest first."""
        lines: list[str] = []
        live = {name for name in log_file_stats() if LIVE_FILENAME.fullmatch(name)}
        for name in sorted(set(self.files) | live):
            followed = self.files.get(name)
            if followed is not None:
                lines += followed.read_new()
                try:
                    current = os.stat(log_dir() / name, follow_symlinks=False)
                except FileNotFoundError:
                    current = None
                if current is None or current.st_ino != followed.inode:
                    # Rotated: read the old file to its end once more (a line may have landed
                    # between our read and the rename), then switch to the new one.
                    lines += followed.read_new()
                    if followed.pending:
                        lines.append(followed.pending.decode("utf-8", "replace"))
                    followed.close()
                    del self.files[name]
                    followed = None
                elif current.st_size < followed.position:
                    followed.position = 0  # truncated in place
                    followed.pending = b""
            if followed is None and name in live:
                try:
                    handle = log_file_open(filename=name)
                except AppError:
                    continue
                self.files[name] = _FollowedFile(handle, 0)
                lines += self.files[name].read_new()
        entries = self._keep([e for e in map(parse_line, lines) if e])
        entries.sort(key=lambda e: e.get("time") or "")
        return entries

    def close(self) -> None:
        for followed in self.files.values():
            followed.close()
        self.files.clear()


def _parameters(request) -> dict:
    level = query_param(request.GET, "level")
    if level is not None:
        level = level.upper()
        if level not in LEVELS:
            raise InvalidInput("level", f"must be one of: {', '.join(LEVELS)}")
    owner_id = query_param(request.GET, "ownerId")
    if owner_id is not None and not OWNER_ID.fullmatch(owner_id):
        raise InvalidInput("ownerId", "must be a run or live session id")
    catch_up = whole_number(
        query_param(request.GET, "catchUp"), "catchUp", default=DEFAULT_CATCH_UP, low=0, high=MAX_CATCH_UP
    )
    after = request.headers.get("Last-Event-ID") or request.GET.get("lastEventId")
    if after is not None and not ENTRY_TIME.fullmatch(after):
        raise InvalidInput("Last-Event-ID", "must be the id (time) of the last entry received")
    return {"min_level": level, "owner_id": owner_id, "catch_up": catch_up, "after": after}


def _entry_message(entry: dict) -> str:
    return sse_message(data=entry, event="log", id=entry.get("time"))


@sse_view
async def log_stream(request):
    """SSE of log entries: the recent ones first, then live ones. Validated before the first byte."""
    params = _parameters(request)
    follower = LogFollower(min_level=params["min_level"], owner_id=params["owner_id"])
    return sse_response(_follow(follower, catch_up=params["catch_up"], after=params["after"]))


async def _follow(follower: LogFollower, *, catch_up: int, after: str | None) -> AsyncIterator[str]:
    yield ": stream open\nretry: 2000\n\n"
    try:
        for entry in await asyncio.to_thread(follower.catch_up, count=catch_up, after=after):
            yield _entry_message(entry)
        # Tells a client that what follows is live (a viewer can draw a divider here).
        yield ": caught up\n\n"
        last_write = time.monotonic()
        while True:
            entries = await asyncio.to_thread(follower.poll)
            for entry in entries:
                yield _entry_message(entry)
            if entries:
                last_write = time.monotonic()
            elif time.monotonic() - last_write >= settings.SSE_KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                last_write = time.monotonic()
            await asyncio.sleep(_poll_seconds())
    finally:
        # A normal end or Django cancelling us on disconnect: the open files are released either way.
        follower.close()


class LogEntrySerializer(serializers.Serializer):
    """One log line, as the files hold it and the stream sends it."""

    time = serializers.CharField(help_text="ISO 8601 with milliseconds; also the SSE `id:`.")
    level = serializers.ChoiceField(choices=LEVELS)
    logger = serializers.CharField()
    message = serializers.CharField(help_text="Secrets are masked.")
    process = serializers.CharField(help_text="web, worker ...")
    ownerId = serializers.CharField(required=False, help_text="The run or live session it is about.")
    exception = serializers.CharField(required=False)


class _LogStreamSchema(APIView):
    """Documentation only: drf-spectacular describes DRF views, and this stream must not be one
    (DRF would buffer it). The generator finds this class through `log_stream.cls`."""

    @extend_schema(
        tags=["logs"],
        summary="Live log entries from every process, as Server-Sent Events",
        operation_id="logs_stream",
        parameters=[
            OpenApiParameter("level", str, enum=list(LEVELS), description="This level and above."),
            OpenApiParameter(
                "ownerId",
                {"type": "string", "pattern": f"^{OWNER_ID.pattern}$"},
                description="Only entries of this run or live session.",
            ),
            OpenApiParameter(
                "catchUp",
                {"type": "integer", "minimum": 0, "maximum": MAX_CATCH_UP, "default": DEFAULT_CATCH_UP},
                description="Recent entries sent first.",
            ),
            OpenApiParameter(
                "Last-Event-ID",
                {"type": "string", "pattern": f"^{ENTRY_TIME.pattern}$"},
                OpenApiParameter.HEADER,
                description="Resume after the entry with this `id:` (its time).",
            ),
        ],
        responses={
            200: EventStreamResponse(
                description="Starts with the most recent entries (`catchUp`), then follows every process's log "
                "file. Each message is `event: log`, `id: <entry time>`, `data: <entry>`; a `: caught up` comment "
                "separates the recent entries from live ones. Reconnecting with `Last-Event-ID` resumes after "
                "that entry. A `: keep-alive` comment is sent when nothing was written for a while.",
                events={"log": LogEntrySerializer},
            ),
            **errors("invalid_input"),
        },
    )
    def get(self, request):  # pragma: no cover - never routed
        raise NotImplementedError


log_stream.cls = _LogStreamSchema
log_stream.initkwargs = {}
