"""The unified history: runs and live sessions as one list, newest first.

One UNION ALL query ordered by (created_at, id) and sliced in the database gives exact pages at any
offset with a constant number of queries (the page and the count), however many rows there are.
"""

from datetime import UTC, datetime, time

from django.db.models import CharField, F, IntegerField, Q, Value
from django.db.models.functions import Coalesce, NullIf, Substr
from django.utils.dateparse import parse_date, parse_datetime

from core.errors import InvalidInput
from core.pagination import DEFAULT_LIMIT, page_params
from events.selectors import event_as_dict, event_list
from runs.models import Run
from sessions.models import LiveSession

KINDS = ("run", "session")
TITLE_CHARS = 200
# The columns both halves of the union share, in this order.
COLUMNS = (
    "h_kind",
    "h_id",
    "h_title",
    "h_status",
    "h_created",
    "h_started",
    "h_ended",
    "h_provider",
    "h_model",
    "h_events",
    "h_scenario",
    "h_commands",
)


def _run_rows(filters: Q):
    return (
        Run.objects.filter(filters)
        .annotate(
            h_kind=Value("run", output_field=CharField()),
            h_id=F("id"),
            # "Title (scenario or first instruction)": the run's title, else its instruction, else the scenario.
            h_title=Coalesce(
                NullIf(F("title"), Value("")),
                NullIf(Substr("instruction", 1, TITLE_CHARS), Value("")),
                F("scenario_id"),
                output_field=CharField(),
            ),
            h_status=F("status"),
            h_created=F("created_at"),
            h_started=F("started_at"),
            h_ended=F("finished_at"),
            h_provider=F("auth_provider"),
            h_model=F("model"),
            h_events=F("event_count"),
            h_scenario=F("scenario_id"),
            h_commands=Value(None, output_field=IntegerField()),
        )
        .values(*COLUMNS)
        .order_by()  # the model's default ordering is not allowed inside a UNION part
    )


def _session_rows(filters: Q):
    return (
        LiveSession.objects.filter(filters)
        .annotate(
            h_kind=Value("session", output_field=CharField()),
            h_id=F("id"),
            h_title=Coalesce(NullIf(F("title"), Value("")), Value("Live session"), output_field=CharField()),
            h_status=F("status"),
            h_created=F("created_at"),
            # A session is live from its creation.
            h_started=F("created_at"),
            h_ended=F("closed_at"),
            h_provider=F("auth_provider"),
            h_model=F("model"),
            h_events=F("event_count"),
            h_scenario=Value(None, output_field=CharField()),
            h_commands=F("command_count"),
        )
        .values(*COLUMNS)
        .order_by()  # the model's default ordering is not allowed inside a UNION part
    )


def _moment(value: str | None, field: str, *, end_of_day: bool) -> datetime | None:
    if value is None:
        return None
    try:
        # A bare date is a whole day (`until=2026-03-02` includes that day's evening).
        if (day := parse_date(value)) is not None:
            moment = datetime.combine(day, time.max if end_of_day else time.min)
        else:
            moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidInput(field, "must be an ISO 8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def history_statuses() -> dict[str, list[str]]:
    """The statuses each kind of record can have: a filter by status is one of its kind's."""
    return {"run": list(Run.Status.values), "session": list(LiveSession.Status.values)}


def history_query(params) -> dict:
    """Parse the list's query parameters (strings, as in the URL) into `history_list` arguments."""
    limit, offset = page_params(params)
    kind = params.get("kind")
    if kind is not None and kind not in KINDS:
        raise InvalidInput("kind", f"must be one of: {', '.join(KINDS)}")
    status = params.get("status")
    if status is not None:
        known = history_statuses()
        allowed = set(known[kind]) if kind else set(known["run"]) | set(known["session"])
        if status not in allowed:
            raise InvalidInput("status", f"must be one of: {', '.join(sorted(allowed))}")
    since = _moment(params.get("since"), "since", end_of_day=False)
    until = _moment(params.get("until"), "until", end_of_day=True)
    if since and until and since > until:
        raise InvalidInput("until", "must not be before since")
    return {
        "limit": limit,
        "offset": offset,
        "kind": kind,
        "status": status,
        "since": since,
        "until": until,
    }


def history_list(
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    kind: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict:
    """One page of runs and sessions, newest first (ties by id), and the total across both: 3 queries."""
    filters = Q()
    if status:
        filters &= Q(status=status)
    if since:
        filters &= Q(created_at__gte=since)
    if until:
        filters &= Q(created_at__lte=until)
    parts = []
    if kind in (None, "run") and (status is None or status in Run.Status.values):
        parts.append(_run_rows(filters))
    if kind in (None, "session") and (status is None or status in LiveSession.Status.values):
        parts.append(_session_rows(filters))
    if not parts:
        return {"items": [], "total": 0, "limit": limit, "offset": offset}
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    page = list(rows.order_by("-h_created", "-h_id")[offset : offset + limit])
    # Each table counted on its own: a COUNT over the UNION makes SQLite build the whole union
    # first (52 ms at 100,000 rows, against about 1 ms for the two counts).
    total = sum(part.model.objects.filter(filters).count() for part in parts)
    return {"items": [_item(row) for row in page], "total": total, "limit": limit, "offset": offset}


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _item(row: dict) -> dict:
    item = {
        "kind": row["h_kind"],
        "id": row["h_id"],
        "title": row["h_title"],
        "status": row["h_status"],
        "createdAt": _iso(row["h_created"]),
        "startedAt": _iso(row["h_started"]),
        # One name for the end of either kind, and the kind's own name for it.
        "endedAt": _iso(row["h_ended"]),
        "authProvider": row["h_provider"],
        "model": row["h_model"],
        "eventCount": row["h_events"],
        "links": {"self": f"/api/history/{row['h_id']}"},
    }
    if row["h_kind"] == "run":
        item["finishedAt"] = item["endedAt"]
        item["scenarioId"] = row["h_scenario"]
        item["links"]["events"] = f"/api/runs/{row['h_id']}/events"
    else:
        item["closedAt"] = item["endedAt"]
        item["commandCount"] = row["h_commands"]
        item["links"]["events"] = f"/api/live-sessions/{row['h_id']}/events"
    return item


def history_record_get(*, record_id: str) -> Run | LiveSession | None:
    """The run or the live session with this id (their prefixes, run_ / ses_, tell which to ask first)."""
    order = (LiveSession, Run) if record_id.startswith("ses_") else (Run, LiveSession)
    for model in order:
        record = model.objects.select_related("machine").filter(pk=record_id).first()
        if record is not None:
            return record
    return None


def history_record_as_dict(record: Run | LiveSession) -> dict:
    common = {
        "id": record.id,
        "title": record.title,
        "status": record.status,
        "authProvider": record.auth_provider,
        "model": record.model,
        "machine": record.machine.name if record.machine_id else None,
        "usage": record.usage or {},
        "eventCount": record.event_count,
        "createdAt": _iso(record.created_at),
        "heartbeatAt": _iso(record.heartbeat_at),
        "stopRequestedAt": _iso(record.stop_requested_at),
    }
    if isinstance(record, Run):
        specific = {
            "kind": "run",
            "title": record.title or (record.instruction or "")[:TITLE_CHARS] or record.scenario_id,
            "scenarioId": record.scenario_id,
            "input": record.input,
            "instruction": record.instruction,
            "route": record.route,
            "retryOf": record.retry_of_id,
            "summary": record.summary,
            "error": record.error,
            "startedAt": _iso(record.started_at),
            "finishedAt": _iso(record.finished_at),
            "endedAt": _iso(record.finished_at),
        }
    else:
        specific = {
            "kind": "session",
            "title": record.title or "Live session",
            "commandCount": record.command_count,
            "updatedAt": _iso(record.updated_at),
            "startedAt": _iso(record.created_at),
            "closedAt": _iso(record.closed_at),
            "endedAt": _iso(record.closed_at),
        }
    return {**common, **specific}


def history_record_detail(*, record: Run | LiveSession) -> dict:
    return {**history_record_as_dict(record), "events": [event_as_dict(e) for e in event_list(owner_id=record.id)]}
