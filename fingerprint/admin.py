from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from fingerprint.models import Match, ReferenceFingerprint, Scan, WorkMatch


class ReadOnlyInline(admin.TabularInline):
    """What the engine found on a scan: shown, never added, edited or deleted by hand."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MatchInline(ReadOnlyInline):
    model = Match
    fields = [
        "recording",
        "query_start_s",
        "query_end_s",
        "reference_start_s",
        "reference_end_s",
        "pitch_factor",
        "tempo_factor",
        "score",
        "confidence",
        "engine_version",
    ]
    readonly_fields = fields


class WorkMatchInline(ReadOnlyInline):
    model = WorkMatch
    fields = [
        "work",
        "query_start_s",
        "query_end_s",
        "reference_start_s",
        "reference_end_s",
        "transpose_semitones",
        "tempo_ratio",
        "score",
        "confidence",
        "engine_version",
    ]
    readonly_fields = fields


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    list_display = ["id", "display_name", "platform", "status", "attempts", "created_at", "finished_at"]
    list_filter = ["status", "platform"]
    search_fields = ["original_name", "source_url", "asset__original_name", "asset__sha256"]
    readonly_fields = [
        "asset",
        "platform",
        "submitted_by",
        "submission",
        "source",
        "source_url",
        "original_name",
        "status",
        "error",
        "attempts",
        "dispatched_at",
        "engine_version",
        "created_at",
        "started_at",
        "finished_at",
    ]
    inlines = [MatchInline, WorkMatchInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = ["id", "scan", "recording", "query_start_s", "reference_start_s", "score", "confidence"]
    search_fields = ["recording__title", "recording__isrc"]
    readonly_fields = [f.name for f in Match._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ReferenceFingerprint)
class ReferenceFingerprintAdmin(admin.ModelAdmin):
    list_display = ["asset", "engine_version", "landmark_count", "indexed_at"]
    readonly_fields = ["asset", "engine_version", "landmark_count", "indexed_at"]


from fingerprint import admin_platforms, admin_sources, admin_webhooks  # noqa: E402,F401
