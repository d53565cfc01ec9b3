from __future__ import annotations

import json

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from generation_audit.models import Finding, ProvenanceRun


def _pretty(evidence: dict) -> str:
    return format_html("<pre style='white-space: pre-wrap; max-width: 90ch'>{}</pre>", json.dumps(evidence, indent=2))


class FindingInline(admin.TabularInline):
    model = Finding
    fields = ["detector", "detector_version", "label", "score", "strength", "evidence_summary"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    @admin.display(description="Evidence")
    def evidence_summary(self, obj: Finding) -> str:
        text = json.dumps(obj.evidence)
        return text if len(text) <= 300 else text[:300] + "…"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ProvenanceRun)
class ProvenanceRunAdmin(admin.ModelAdmin):
    list_display = ["id", "asset", "status", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["asset__original_name", "asset__sha256"]
    readonly_fields = ["asset", "status", "detector_versions", "error", "created_at", "started_at", "finished_at"]
    inlines = [FindingInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "detector", "label", "score", "strength", "detector_version"]
    list_filter = ["detector", "label", "strength"]
    search_fields = ["run__asset__original_name", "run__asset__sha256"]
    fields = ["run", "detector", "detector_version", "label", "score", "strength", "evidence_pretty", "created_at"]
    readonly_fields = fields

    @admin.display(description="Evidence")
    def evidence_pretty(self, obj: Finding) -> str:
        return _pretty(obj.evidence)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
