from __future__ import annotations

from django.apps import AppConfig


class GenerationAuditConfig(AppConfig):
    name = "generation_audit"
    verbose_name = "AI provenance and licensed AI services"

    def ready(self) -> None:
        from fingerprint.signals import scan_identified
        from generation_audit import receivers

        scan_identified.connect(receivers.queue_provenance_for_identified_scan, dispatch_uid="provenance-on-scan")
