from __future__ import annotations

from django.apps import AppConfig


class GenerationAuditConfig(AppConfig):
    name = "generation_audit"
    verbose_name = "AI provenance and licensed AI services"
