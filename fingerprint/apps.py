from __future__ import annotations

from django.apps import AppConfig


class FingerprintConfig(AppConfig):
    name = "fingerprint"
    verbose_name = "Identification"

    def ready(self) -> None:
        from fingerprint import artist_receivers, webhooks

        webhooks.connect_receivers()  # a finished scan is announced to its platform's webhooks
        artist_receivers.connect()  # a recording's artists changed: the artists' profiles follow
