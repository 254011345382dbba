"""The replay archive of a run: one zip a person can keep, share and open without a server.

    manifest.json   format version, the run record, scenario, model, timings, token usage, screenshots
    events.jsonl    every event, one JSON object per line (screenshots point into screenshots/)
    screenshots/    the images the events refer to
    index.html      a self-contained viewer: steps through the screenshots with the actions drawn on them

Secrets are masked again on the way out (events are masked when written; this is the second net).
"""

from __future__ import annotations

import io
import json
import zipfile

from django.template.loader import render_to_string
from django.utils import timezone

from core.redact import redact, redact_data
from events.models import Screenshot
from events.selectors import event_list
from events.serializers import EventSerializer
from runs.models import Run

FORMAT_VERSION = 1
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def _seconds(start, end) -> float | None:
    return round((end - start).total_seconds(), 3) if start and end else None


def replay_manifest(*, run: Run, screenshots: list[dict], event_count: int) -> dict:
    from runs.serializers import MachineSerializer, RunSerializer

    record = RunSerializer(run).data
    return redact_data(
        {
            "format": "deskhand-replay",
            "formatVersion": FORMAT_VERSION,
            "generatedAt": timezone.now().isoformat(),
            "run": record,
            "scenario": run.scenario or {"id": run.scenario_id},
            "model": run.model,
            "authProvider": run.auth_provider,
            "timings": {
                "createdAt": run.created_at.isoformat() if run.created_at else None,
                "startedAt": run.started_at.isoformat() if run.started_at else None,
                "finishedAt": run.finished_at.isoformat() if run.finished_at else None,
                "queuedSeconds": _seconds(run.created_at, run.started_at),
                "durationSeconds": _seconds(run.started_at, run.finished_at),
            },
            "usage": run.usage or {},
            "machine": MachineSerializer(run.machine).data if run.machine_id else None,
            "eventCount": event_count,
            "screenshots": screenshots,
        }
    )


def replay_build(*, run: Run) -> bytes:
    events = event_list(owner_id=run.id)
    shots = {s.id: s for s in Screenshot.objects.filter(owner_id=run.id)}
    buffer = io.BytesIO()
    listed: list[dict] = []
    lines: list[str] = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for shot in sorted(shots.values(), key=lambda s: s.created_at):
            name = f"screenshots/{shot.id}.{_EXTENSIONS.get(shot.mime, 'bin')}"
            try:
                with shot.file.open("rb") as handle:
                    # Images are already compressed: store them as they are.
                    archive.writestr(
                        zipfile.ZipInfo(name, _zip_time(shot.created_at)),
                        handle.read(),
                        compress_type=zipfile.ZIP_STORED,
                    )
            except (OSError, ValueError):
                continue  # a missing file leaves a gap in the replay, not a broken archive
            listed.append({"ref": shot.id, "file": name, "width": shot.width, "height": shot.height, "mime": shot.mime})
        files = {item["ref"]: item["file"] for item in listed}
        for event in events:
            record = dict(EventSerializer(event).data)
            if event.type == "screenshot" and isinstance(record["data"], dict):
                ref = record["data"].get("ref")
                data = {k: v for k, v in record["data"].items() if k != "url"}
                if ref in files:
                    data["file"] = files[ref]
                record["data"] = data
            lines.append(json.dumps(redact_data(record), ensure_ascii=False, separators=(",", ":")))
        manifest = replay_manifest(run=run, screenshots=listed, event_count=len(lines))
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        archive.writestr("events.jsonl", "\n".join(lines) + ("\n" if lines else ""))
        archive.writestr("index.html", _viewer(manifest, lines))
    return buffer.getvalue()


def _viewer(manifest: dict, lines: list[str]) -> str:
    payload = {"manifest": manifest, "events": [json.loads(line) for line in lines]}
    # Inside <script type="application/json">, "</script" or "<!--" would change how the page
    # parses; JSON may spell "<" as \u003c, which JSON.parse reads back as the same character.
    embedded = json.dumps(payload, ensure_ascii=False).replace("<", "\\u003c")
    return redact(
        render_to_string(
            "runs/replay_index.html", {"title": manifest["run"]["title"] or manifest["run"]["id"], "payload": embedded}
        )
    )


def _zip_time(moment) -> tuple:
    moment = moment or timezone.now()
    return (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second)
