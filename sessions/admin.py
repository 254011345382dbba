"""Browse live sessions (read-only) with their events."""

from django.contrib import admin

from events.admin import ReadOnlyAdmin, events_table
from sessions.models import LiveSession


@admin.register(LiveSession)
class LiveSessionAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "status", "auth_provider", "model", "command_count", "event_count", "created_at")
    list_filter = ("status", "auth_provider", "model")
    search_fields = ("=id", "title")
    date_hierarchy = "created_at"
    # The model conversation (with its screenshots) is the model's input, not something to read here;
    # the events tell the same story.
    exclude = ("history",)
    readonly_fields = ("events",)

    @admin.display(description="Events")
    def events(self, obj):
        return events_table(obj.id)
