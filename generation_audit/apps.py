from __future__ import annotations

from django.apps import AppConfig


class GenerationAuditConfig(AppConfig):
    name = "generation_audit"
    verbose_name = "AI provenance and licensed AI services"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from catalog.models import AudioAsset
        from generation_audit import receivers

        post_save.connect(
            receivers.queue_provenance_for_new_upload, sender=AudioAsset, dispatch_uid="provenance-on-upload"
        )
