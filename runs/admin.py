"""Browse runs (read-only) with their events; machines too."""

from django.contrib import admin

from events.admin import ReadOnlyAdmin, events_table
from runs.models import Confirmation, Machine, Run


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "title",
        "scenario_id",
        "status",
        "mode",
        "auth_provider",
        "model",
        "model_calls",
        "event_count",
        "created_at",
    )
    list_filter = ("status", "mode", "auth_provider", "model")
    search_fields = ("=id", "title", "scenario_id", "instruction")
    date_hierarchy = "created_at"
    list_select_related = ("machine",)
    readonly_fields = ("events",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "title",
                    "scenario_id",
                    "status",
                    "status_reason",
                    "auth_provider",
                    "model",
                    "machine",
                    "retry_of",
                )
            },
        ),
        ("Task", {"fields": ("instruction", "input", "route", "summary", "error", "usage")}),
        (
            "Autopilot",
            {"fields": ("mode", "replay_of", "replayed_steps", "replay_diverged_at", "model_calls")},
        ),
        ("Times", {"fields": ("created_at", "started_at", "finished_at", "heartbeat_at", "stop_requested_at")}),
        ("Events", {"fields": ("events",)}),
    )

    @admin.display(description="Events")
    def events(self, obj):
        return events_table(obj.id)


@admin.register(Machine)
class MachineAdmin(ReadOnlyAdmin):
    list_display = ("name", "platform", "display_reachable", "last_heartbeat", "desktop_holder")
    search_fields = ("name",)


@admin.register(Confirmation)
class ConfirmationAdmin(ReadOnlyAdmin):
    list_display = ("owner_id", "kind", "status", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("=owner_id",)
