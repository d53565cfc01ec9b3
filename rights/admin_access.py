"""Admin screens for access: labels grant auditors read access; audit-trail checks are listed."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from rights.admin import ReadOnlyAdmin
from rights.models import AuditCheck, AuditorGrant


@admin.register(AuditorGrant)
class AuditorGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "label", "granted_by", "granted_at", "expires_on"]
    list_filter = ["label"]
    search_fields = ["user__username", "label__name"]
    autocomplete_fields = ["user", "label"]
    readonly_fields = ["granted_by", "granted_at"]

    def save_model(self, request: HttpRequest, obj: AuditorGrant, form: Any, change: bool) -> None:
        if not change:
            obj.granted_by = request.user  # who opened a label's books to an outsider
        super().save_model(request, obj, form, change)


@admin.register(AuditCheck)
class AuditCheckAdmin(ReadOnlyAdmin):
    list_display = ["checked_at", "ok", "events", "checked_by"]
    list_filter = ["ok"]
