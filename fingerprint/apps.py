from __future__ import annotations

from django.apps import AppConfig


class FingerprintConfig(AppConfig):
    name = "fingerprint"
    verbose_name = "Identification"
