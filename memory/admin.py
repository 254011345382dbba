"""Curating memory: search, filter, edit confidence, bulk delete, merge app profiles."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.template.response import TemplateResponse
from django.utils.html import format_html

from memory.models import AppProfile, MemoryEntry
from memory.services import app_profiles_merge, memory_entry_touch


class CommaSeparatedList(forms.CharField):
    """A JSON list of short strings (tags, aliases), edited as "one, two, three"."""

    def prepare_value(self, value):
        return ", ".join(str(item) for item in value) if isinstance(value, list) else value

    def to_python(self, value):
        return [part.strip() for part in (super().to_python(value) or "").split(",") if part.strip()]


class ListFieldsAsText:
    """Admin forms show the model's JSON list fields named in `list_fields` as comma-separated text."""

    list_fields: tuple[str, ...] = ("tags", "aliases")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.list_fields:
            return CommaSeparatedList(
                label=db_field.verbose_name.capitalize(),
                required=False,
                help_text="Separate them with commas.",
                widget=forms.TextInput(attrs={"class": "vTextField"}),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class MemoryEntryInline(ListFieldsAsText, admin.TabularInline):
    model = MemoryEntry
    fields = ("content", "category", "tags", "confidence", "source", "use_count")
    readonly_fields = ("source", "use_count")
    extra = 0
    show_change_link = True


@admin.register(AppProfile)
class AppProfileAdmin(ListFieldsAsText, admin.ModelAdmin):
    list_display = ("name", "alias_list", "entry_count", "updated_at")
    search_fields = ("name", "aliases", "notes")
    readonly_fields = ("created_at", "updated_at")
    inlines = (MemoryEntryInline,)
    actions = ("merge_profiles",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_count=Count("entries"))

    @admin.display(description="Aliases")
    def alias_list(self, obj):
        return ", ".join(obj.aliases) or "—"

    @admin.display(description="Entries", ordering="entry_count")
    def entry_count(self, obj):
        return obj.entry_count

    @admin.action(description="Merge selected profiles into one")
    def merge_profiles(self, request, queryset):
        """First a page to choose which profile stays; then the others become its aliases."""
        profiles = list(queryset.order_by("name"))
        if len(profiles) < 2:
            self.message_user(request, "Select at least two profiles to merge.", messages.WARNING)
            return None
        target_id = request.POST.get("target")
        if request.POST.get("confirm") and target_id:
            target = next((p for p in profiles if str(p.pk) == target_id), None)
            if target is None:
                self.message_user(request, "Choose one of the selected profiles to keep.", messages.ERROR)
                return None
            others = [p for p in profiles if p.pk != target.pk]
            app_profiles_merge(target=target, others=others)
            self.message_user(
                request,
                f"Merged {', '.join(p.name for p in others)} into {target.name}.",
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/memory/appprofile/merge.html",
            {
                **self.admin_site.each_context(request),
                "title": "Merge app profiles",
                "opts": self.model._meta,
                "profiles": profiles,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(MemoryEntry)
class MemoryEntryAdmin(ListFieldsAsText, admin.ModelAdmin):
    list_display = (
        "short_content",
        "category",
        "app",
        "confidence",
        "source",
        "learned_from",
        "use_count",
        "updated_at",
    )
    list_editable = ("confidence",)
    list_filter = ("category", "source", "app")
    list_select_related = ("app",)
    search_fields = ("content", "tags", "app__name", "=source_owner_id")
    readonly_fields = ("source", "source_owner_id", "use_count", "last_used_at", "created_at", "updated_at")
    fields = ("content", "category", "app", "tags", "confidence", *readonly_fields)
    autocomplete_fields = ("app",)

    @admin.display(description="Content", ordering="content")
    def short_content(self, obj):
        return obj.content if len(obj.content) <= 80 else obj.content[:80] + "…"

    @admin.display(description="Learned from", ordering="source_owner_id")
    def learned_from(self, obj):
        # "run_" + 32 hex digits would take a third of the row from the content: a short id links to it.
        if not obj.source_owner_id:
            return "—"
        page = "runs" if obj.source_owner_id.startswith("run_") else "live"
        return format_html('<a href="/{}/{}">{}…</a>', page, obj.source_owner_id, obj.source_owner_id[:12])

    def save_model(self, request, obj, form, change):
        # An edited entry keeps its duplicate key in step with its content.
        memory_entry_touch(entry=obj)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "confidence" and field is not None:
            field.widget.attrs.update({"min": 0, "max": 1, "step": 0.05})
        return field
