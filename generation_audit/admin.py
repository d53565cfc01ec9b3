from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from generation_audit import imitation
from generation_audit.models import (
    AIService,
    Finding,
    GeneratedOutput,
    ImitationReport,
    LedgerEntry,
    OutputAttribution,
    ProvenanceRun,
    ServiceCall,
    TrainingManifest,
    TrainingManifestEntry,
)
from rights import admin as rights_admin


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


# --- possible AI imitations of artists ----------------------------------------------------------------


def _review(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, status: str) -> None:
    done, refused = 0, []
    for report in queryset:
        try:
            imitation.review(report, status, request.user)
            done += 1
        except imitation.ReviewError as exc:
            refused.append(f"report {report.pk}: {exc}")
    if done:
        modeladmin.message_user(request, f"{done} report(s) {status}.", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.WARNING)


@admin.action(description="Confirm selected as imitations", permissions=["change"])
def confirm_imitations(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _review(modeladmin, request, queryset, ImitationReport.Status.CONFIRMED)


@admin.action(description="Dismiss selected reports", permissions=["change"])
def dismiss_imitations(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _review(modeladmin, request, queryset, ImitationReport.Status.DISMISSED)


@admin.register(ImitationReport)
class ImitationReportAdmin(admin.ModelAdmin):
    """The review list of possible AI imitations: every fact is the evidence's, only the decision is staff's
    (made with the actions, audited)."""

    list_display = ["id", "headline", "scan", "similarity", "ai_score", "status", "licence_note", "created_at"]
    list_filter = ["status", "artist"]
    search_fields = ["artist__name", "scan__asset__original_name", "scan__asset__sha256"]
    actions = [confirm_imitations, dismiss_imitations]
    readonly_fields = [f.name for f in ImitationReport._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# --- licensed AI services ----------------------------------------------------------------------------
# Calls, ledger entries and outputs are evidence: staff read them here, nothing in the admin writes them.


class ReadOnlyAdmin(rights_admin.ReadOnlyAdmin):
    """Every field shown, none editable, no add or delete: the gateway alone writes these rows."""

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]


@admin.register(AIService)
class AIServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "backend", "operator", "licence", "active"]
    list_filter = ["kind", "backend", "active"]
    search_fields = ["name", "operator__name", "licence__reference"]
    autocomplete_fields = ["operator", "licence"]


@admin.register(ServiceCall)
class ServiceCallAdmin(ReadOnlyAdmin):
    list_display = ["id", "service", "operation", "status", "licensee", "territory", "created_at", "duration_ms"]
    list_filter = ["status", "operation", "service"]
    search_fields = ["licence_reason", "error", "service__name"]
    date_hierarchy = "created_at"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "event", "call", "entry_hash", "recorded_at"]
    list_filter = ["event"]
    search_fields = ["entry_hash", "prev_hash"]


class OutputAttributionInline(admin.TabularInline):
    model = OutputAttribution
    fields = ["recording", "share", "similarity"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(GeneratedOutput)
class GeneratedOutputAdmin(ReadOnlyAdmin):
    list_display = ["id", "call", "asset", "audit_status", "created_at", "audited_at"]
    list_filter = ["audit_status"]
    search_fields = ["asset__sha256"]
    inlines = [OutputAttributionInline]


class TrainingManifestEntryInline(admin.TabularInline):
    model = TrainingManifestEntry
    fields = ["recording", "work", "declared_licence"]
    raw_id_fields = fields
    extra = 0


@admin.register(TrainingManifest)
class TrainingManifestAdmin(admin.ModelAdmin):
    list_display = ["service", "model_version", "trained_on", "territory", "audit_status", "audited_at"]
    list_filter = ["audit_status", "service"]
    search_fields = ["model_version", "service__name"]
    readonly_fields = ["audit_status", "audit_report_pretty", "audited_at", "created_at"]
    exclude = ["audit_report"]
    inlines = [TrainingManifestEntryInline]

    @admin.display(description="Audit report")
    def audit_report_pretty(self, obj: TrainingManifest) -> str:
        return _pretty(obj.audit_report)
