from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import OperationalError

from fingerprint import actions, intake

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def identify_scan(scan_id: int) -> None:
    """Identify one scan by id (fetching it first when it was given as a URL); safe to run twice
    (a finished scan is left as it is). acks_late: a worker killed mid-scan leaves it to be redone."""
    actions.identify_scan(scan_id)


@shared_task
def rebuild_index() -> int:
    """Re-fingerprint and re-embed every reference into fresh indexes (the gpu queue: embeddings run
    on the GPU there); `manage.py build_index --in-worker` queues it."""
    return actions.rebuild_index()


@shared_task
def dispatch_scans(scan_ids: list[int]) -> None:
    """Fan a submitted batch out, one identification task per scan (a redelivery only queues
    them again, and identification is idempotent)."""
    for scan_id in scan_ids:
        identify_scan.delay(scan_id)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def sweep_scans() -> None:
    """The outbox relay and the stuck-scan recovery, scans and reference uploads (Celery beat, every 30 s)."""
    intake.relay_outbox()
    intake.recover_stuck_scans()
    from fingerprint import references  # it imports this module for its task

    references.recover_stalled()


@worker_ready.connect
def _relay_outbox_when_a_worker_starts(**_: object) -> None:
    """A worker coming up after a broker outage queues what the API accepted meanwhile."""
    try:
        intake.relay_outbox(min_age_s=0)
    except Exception:  # never keep a worker from starting (e.g. database not migrated yet)
        logger.exception("Could not relay the scan outbox at worker start")


# --- webhooks (fingerprint.webhooks) ----------------------------------------------------------------


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def deliver_webhook(delivery_id: int) -> None:
    """One attempt at a webhook delivery if it is still pending and due; safe to run twice (the first
    worker to take the row leases it). Later attempts are queued by retry_due_webhooks, not here."""
    from fingerprint import webhooks
    from fingerprint.models import WebhookDelivery

    try:
        webhooks.deliver(delivery_id)
    except WebhookDelivery.DoesNotExist:  # its endpoint was deleted meanwhile
        return


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def retry_due_webhooks() -> int:
    """Queue every webhook delivery whose next attempt is due (Celery beat, every 30 s)."""
    from fingerprint import webhooks

    due = webhooks.due_deliveries()
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    return len(due)


# --- crawled sources (fingerprint.sources) ----------------------------------------------------------


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def crawl_source(source_id: int) -> int:
    """Crawl one source now; returns how many fetches it recorded. Safe to run twice: URLs already
    scanned are not fetched again."""
    from fingerprint import sources
    from fingerprint.models import Source

    try:
        return len(sources.crawl_source(source_id))
    except Source.DoesNotExist:  # deleted since it was queued
        return 0


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def crawl_due_sources() -> int:
    """Queue a crawl of every active source that is due (Celery beat, every 5 minutes)."""
    from fingerprint import sources

    due = sources.crawl_due_sources()
    for source_id in due:
        crawl_source.delay(source_id)
    return len(due)


# --- reference audio sent through the web pages (fingerprint.references) ----------------------------


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def fingerprint_reference_upload(upload_id: int) -> str:
    """Fingerprint and index one staged reference upload; returns its status. Safe to run twice: a
    done or failed upload is left as it is."""
    from fingerprint import references
    from fingerprint.models import ReferenceUpload

    try:
        return references.fingerprint_upload(upload_id).status
    except ReferenceUpload.DoesNotExist:  # its recording was deleted since it was queued
        return "gone"


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def refresh_artist_profiles(recording_ids: list[int]) -> int:
    """A recording's artists changed: its style rows and the artists' profiles follow (idempotent)."""
    from fingerprint import artist_index  # faiss loads only in workers that use it

    return artist_index.refresh_recordings(recording_ids)
