"""Read-only admin for the event log, and the event table the run and session pages show."""

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from events.models import Event, Screenshot
from events.selectors import event_list, screenshot_url

# A run of thousands of events would make one page too heavy; the API has them all.
ADMIN_EVENT_LIMIT = 1000


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by executions, never edited by hand: view only, no add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _data_preview(event: Event) -> str:
    text = json.dumps(event.data, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 500 else text[:500] + " …"


def events_table(owner_id: str):
    """The owner's events as an HTML table (screenshots linked to their image)."""
    events = event_list(owner_id=owner_id, limit=ADMIN_EVENT_LIMIT)
    if not events:
        return "No events."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code>{}</td></tr>",
        (
            (
                event.seq,
                event.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                event.type,
                _data_preview(event),
                format_html(' <a href="{}" target="_blank" rel="noopener">image</a>', screenshot_url(event.data["ref"]))
                if event.type == "screenshot" and isinstance(event.data, dict) and event.data.get("ref")
                else "",
            )
            for event in events
        ),
    )
    more = (
        format_html("<p>Showing the first {} events; the API returns all of them.</p>", ADMIN_EVENT_LIMIT)
        if len(events) == ADMIN_EVENT_LIMIT
        else ""
    )
    return format_html(
        '<table class="deskhand-events"><thead><tr><th>#</th><th>Time (UTC)</th><th>Type</th><th>Data</th></tr>'
        "</thead><tbody>{}</tbody></table>{}",
        rows,
        more,
    )


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("owner_id", "seq", "type", "created_at")
    list_filter = ("type",)
    search_fields = ("=owner_id",)
    ordering = ("-created_at",)
    show_full_result_count = False  # COUNT(*) over the whole event log on every page is not needed


@admin.register(Screenshot)
class ScreenshotAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner_id", "width", "height", "mime", "created_at")
    search_fields = ("=owner_id", "=id")
    ordering = ("-created_at",)
