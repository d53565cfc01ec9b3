"""Every upload is checked for AI provenance: a stored upload queues the detectors after commit.

Listening to catalog's AudioAsset keeps fingerprint and catalog unaware of provenance.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from catalog.models import AudioAsset


def queue_provenance_for_new_upload(sender: type, instance: AudioAsset, created: bool, **kwargs: Any) -> None:
    if not created or instance.kind != AudioAsset.Kind.UPLOAD or not settings.PROVENANCE_ON_UPLOAD:
        return
    from generation_audit import tasks  # tasks import actions, which import the detectors' registry

    asset_id = instance.pk
    transaction.on_commit(lambda: tasks.run_provenance.delay(asset_id))
