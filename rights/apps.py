from __future__ import annotations

from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "rights"
    verbose_name = "Rights and claims"

    def ready(self) -> None:
        from fingerprint.signals import scan_identified
        from rights import audit, receivers, webhook_events

        scan_identified.connect(receivers.queue_claims_for_scan, dispatch_uid="rights.claims_for_scan")
        audit.connect()
        webhook_events.connect()
