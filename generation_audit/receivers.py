"""Every upload is checked for AI provenance: a scan that finished identification queues the
detectors on its audio. Listening to fingerprint's signal keeps fingerprint unaware of provenance.

The task is queued from the worker that identified the scan (never from the API request, so a
broker outage during submission cannot lose it); `sweep_provenance` (Celery beat) queues any
identified upload that still has no run, in case that hand-off was lost too.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)


def queue_provenance_for_identified_scan(sender: type, scan_id: int, **kwargs: Any) -> None:
    if not settings.PROVENANCE_ON_UPLOAD:
        return
    from fingerprint.models import Scan
    from generation_audit import tasks  # tasks import actions, which import the detectors' registry

    asset_id = Scan.objects.filter(pk=scan_id).values_list("asset_id", flat=True).first()
    if asset_id is None:
        return
    try:
        tasks.run_provenance.delay(asset_id)
    except Exception as exc:
        if tasks.run_provenance.app.conf.task_always_eager:
            raise  # in-process: a detector's own error must surface
        logger.warning("Provenance of asset %s left to the sweep: the broker is unreachable (%s)", asset_id, exc)
