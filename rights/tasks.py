from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from rights import actions


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def claim_scan_matches(scan_id: int) -> None:
    """Make claims for one scan's matches; safe to run twice."""
    actions.claim_scan_matches(scan_id)


@shared_task
def claim_unclaimed_matches() -> int:
    """Periodic sweep for matches whose claim task was lost."""
    return actions.claim_unclaimed_matches()
