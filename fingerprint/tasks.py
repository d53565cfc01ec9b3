from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from fingerprint import actions


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def identify_scan(scan_id: int) -> None:
    """Identify one scan by id; safe to run twice (a done scan is left as it is)."""
    actions.identify_scan(scan_id)
