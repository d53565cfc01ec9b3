"""How uploads arrive and are never lost: files and URLs from platforms, audio fetched from sources.

Every accepted upload is stored and its Scan committed before the caller is answered. The scan is
then handed to the broker after commit; `Scan.dispatched_at` is the outbox: when the broker is down
the hand-off fails quietly, the scan stays undispatched, and `relay_outbox` queues it again once the
broker is back (the beat sweep, a worker starting, or `manage.py sweep_scans`). A scan whose worker
died is re-queued by `recover_stuck_scans` a bounded number of times and then failed with the reason.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog.checksums import sha256_file
from catalog.models import AudioAsset
from fingerprint import audio
from fingerprint.models import Platform, Scan, Source, Submission

logger = logging.getLogger(__name__)

__all__ = [
    "SubmissionConflict",
    "accept_file",
    "accept_url",
    "dispatch",
    "open_submission",
    "recover_stuck_scans",
    "relay_outbox",
    "request_digest",
    "sha256_file",
]


class SubmissionConflict(ValueError):
    """An Idempotency-Key already used for a request with other content."""


def request_digest(parts: Iterable[str]) -> str:
    """sha256 over a request's item descriptors (file hashes, URLs), in order."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def open_submission(platform: Platform, key: str, digest: str) -> tuple[Submission, bool]:
    """The submission for this Idempotency-Key: (existing or new, created). A key reused for other
    content raises SubmissionConflict, so a client bug cannot silently return unrelated scans."""
    key = key.strip()
    if not key or len(key) > 255:
        raise SubmissionConflict("The Idempotency-Key must be 1 to 255 characters.")
    existing = Submission.objects.filter(platform=platform, idempotency_key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                return Submission.objects.create(platform=platform, idempotency_key=key, request_digest=digest), True
        except IntegrityError:  # the same key in a concurrent request: that one won
            existing = Submission.objects.get(platform=platform, idempotency_key=key)
    if existing.request_digest != digest:
        raise SubmissionConflict(
            f"The Idempotency-Key {key!r} was already used for a request with different content; "
            "use a new key for new content."
        )
    return existing, False


def _existing_upload_scan(sha256: str, platform: Platform | None, source: Source | None) -> Scan | None:
    """The caller's earlier scan of the same content (the platform's own; for staff, any staff scan)."""
    if source is not None:
        return None  # a crawl dedupes by URL and content itself, and records why
    scans = Scan.objects.filter(asset__kind=AudioAsset.Kind.UPLOAD, asset__sha256=sha256, source_url="")
    return scans.filter(platform=platform).order_by("pk").first()


def _stored_asset(path: Path, sha256: str, original_name: str) -> tuple[AudioAsset, bool]:
    """The upload asset for these bytes and whether this call stored it: reused when the content is
    already stored (it was validated then), otherwise validated (AudioError before anything is
    stored) and stored. Call inside a transaction; a rollback leaves the caller to delete the file."""
    existing = AudioAsset.objects.filter(kind=AudioAsset.Kind.UPLOAD, sha256=sha256).first()
    if existing is not None:
        return existing, False
    from fingerprint import actions  # actions imports this module

    info = actions.validate_upload(path)
    asset = actions._new_asset(path, sha256, info, AudioAsset.Kind.UPLOAD, original_name, None)
    try:
        with transaction.atomic():
            asset.save()
    except IntegrityError:  # stored by a concurrent request meanwhile: keep theirs, drop our copy
        actions._delete_file(asset)
        return AudioAsset.objects.get(kind=AudioAsset.Kind.UPLOAD, sha256=sha256), False
    except BaseException:
        actions._delete_file(asset)
        raise
    return asset, True


def accept_file(
    path: str | Path,
    *,
    original_name: str = "",
    platform: Platform | None = None,
    submitted_by: object | None = None,
    submission: Submission | None = None,
    source: Source | None = None,
    source_url: str = "",
) -> Scan:
    """Validate and store one uploaded file and create its Scan, queued after commit.

    The same content from the same platform returns that platform's existing scan. Unusable audio
    raises audio.AudioError (with a code) and stores nothing. The asset and the scan are written in
    one transaction (one durable commit per upload).
    """
    path = Path(path)
    audio.check_file(path, settings.AUDIO_MAX_BYTES)  # before hashing: an oversize file is not read at all
    sha256 = sha256_file(path)
    existing = _existing_upload_scan(sha256, platform, source)
    if existing is not None:
        return existing
    stored: AudioAsset | None = None
    try:
        with transaction.atomic():
            asset, created = _stored_asset(path, sha256, original_name)
            stored = asset if created else None
            try:
                with transaction.atomic():
                    scan = Scan.objects.create(
                        asset=asset,
                        platform=platform,
                        submitted_by=submitted_by,
                        submission=submission,
                        source=source,
                        source_url=source_url,
                        original_name=original_name[:255],
                    )
            except IntegrityError:  # the same platform sent the same bytes concurrently: one scan for both
                existing = _existing_upload_scan(sha256, platform, source)
                if existing is None:
                    raise
                return existing
    except BaseException:
        if stored is not None:
            from fingerprint import actions

            actions._delete_file(stored)  # its row was rolled back with the transaction: no file without a row
        raise
    queue_after_commit(scan.pk)
    return scan


def accept_url(
    url: str,
    *,
    platform: Platform | None = None,
    submitted_by: object | None = None,
    submission: Submission | None = None,
) -> Scan:
    """Create a Scan for audio at `url`; the fetch (SSRF-guarded) and identification run in a task."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Not an http(s) URL: {url[:200]!r}.")
    if len(url) > 2000:
        raise ValueError("The URL is longer than 2,000 characters.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValueError("The URL contains control characters.")
    scan = Scan.objects.create(platform=platform, submitted_by=submitted_by, submission=submission, source_url=url)
    queue_after_commit(scan.pk)
    return scan


def fetch_scan_audio(scan: Scan) -> Scan:
    """Fetch a URL scan's audio and attach it as the scan's asset; a refused fetch or unusable audio
    fails the scan with the reason. Returns the scan (refreshed)."""
    from fingerprint import fetching  # outbound HTTP lives there only
    from fingerprint.models import Fetch

    try:
        fetched = fetching.fetch_to_file(scan.source_url, max_bytes=settings.AUDIO_MAX_BYTES)
    except fetching.FetchRefused as exc:
        Fetch.objects.create(
            scan=scan,
            url=scan.source_url,
            final_url=exc.final_url or "",
            outcome=exc.outcome,
            http_status=exc.http_status,
            detail=exc.detail,
        )
        return fail_scan(scan, f"Could not fetch {scan.source_url}: {exc.detail}")
    try:
        try:
            name = Path(urlsplit(fetched.final_url).path).name or "download"
            asset, _ = _stored_asset(fetched.path, fetched.sha256, name)
        except audio.AudioError as exc:
            Fetch.objects.create(
                scan=scan,
                url=scan.source_url,
                final_url=fetched.final_url,
                outcome=Fetch.Outcome.NOT_AUDIO,
                http_status=fetched.http_status,
                sha256=fetched.sha256,
                size_bytes=fetched.size_bytes,
                detail=str(exc),
            )
            return fail_scan(scan, f"The audio at {scan.source_url} is unusable: {exc}")
    finally:
        fetched.path.unlink(missing_ok=True)
    Fetch.objects.create(
        scan=scan,
        url=scan.source_url,
        final_url=fetched.final_url,
        outcome=Fetch.Outcome.SCANNED,
        http_status=fetched.http_status,
        sha256=fetched.sha256,
        size_bytes=fetched.size_bytes,
    )
    Scan.objects.filter(pk=scan.pk, asset__isnull=True).update(
        asset=asset, original_name=scan.original_name or asset.original_name
    )
    scan.refresh_from_db()
    return scan


def fail_scan(scan: Scan, reason: str) -> Scan:
    """Mark a scan failed with a reason people can read, and announce it after commit."""
    from fingerprint.signals import scan_finished

    Scan.objects.filter(pk=scan.pk).exclude(status__in=Scan.FINAL).update(
        status=Scan.Status.FAILED, error=reason, finished_at=timezone.now()
    )
    transaction.on_commit(lambda: scan_finished.send(sender=Scan, scan_id=scan.pk))
    scan.refresh_from_db()
    return scan


_batch = threading.local()


@contextlib.contextmanager
def one_dispatch_per_batch() -> Iterator[None]:
    """Scans accepted inside are handed to the broker together after commit, as one fan-out message
    (a multipart batch of 50 files costs one publish in the request, not 50)."""
    if getattr(_batch, "scan_ids", None) is not None:  # already inside a batch: it collects these too
        yield
        return
    _batch.scan_ids = collected = []
    try:
        yield
    finally:
        _batch.scan_ids = None
    if collected:
        transaction.on_commit(lambda: dispatch_batch(collected))


def queue_after_commit(scan_id: int) -> None:
    collected = getattr(_batch, "scan_ids", None)
    if collected is not None:
        collected.append(scan_id)
    else:
        transaction.on_commit(lambda: dispatch(scan_id))


def dispatch_batch(scan_ids: list[int]) -> bool:
    """Hand several scans to the broker in one message that a worker fans out; False (all left in
    the outbox) when the broker is down."""
    if len(scan_ids) == 1:
        return dispatch(scan_ids[0])
    from fingerprint import tasks

    if tasks.dispatch_scans.app.conf.task_always_eager:
        tasks.dispatch_scans.apply_async((scan_ids,))
    else:
        try:
            tasks.dispatch_scans.apply_async((scan_ids,), retry=False)
        except Exception as exc:  # see dispatch()
            logger.warning("%d scans kept in the outbox: the broker is unreachable (%s)", len(scan_ids), exc)
            return False
    with _without_waiting_for_disk():
        Scan.objects.filter(pk__in=scan_ids, dispatched_at__isnull=True).update(dispatched_at=timezone.now())
    return True


def dispatch(scan_id: int) -> bool:
    """Hand the scan to the broker; False (and the scan left in the outbox) when the broker is down."""
    from fingerprint import tasks  # tasks import actions, which import this module

    if tasks.identify_scan.app.conf.task_always_eager:  # in-process: let the task's own errors surface
        tasks.identify_scan.apply_async((scan_id,))
    else:
        try:
            tasks.identify_scan.apply_async((scan_id,), retry=False)
        except Exception as exc:  # kombu's OperationalError, a refused connection, a timeout
            logger.warning("Scan %s kept in the outbox: the broker is unreachable (%s)", scan_id, exc)
            return False
    with _without_waiting_for_disk():
        Scan.objects.filter(pk=scan_id, dispatched_at__isnull=True).update(dispatched_at=timezone.now())
    return True


@contextlib.contextmanager
def _without_waiting_for_disk() -> Iterator[None]:
    """A transaction whose commit PostgreSQL may flush a moment later (synchronous_commit off): for
    bookkeeping whose loss in a database crash is harmless (a dispatch mark: the relay resends, and
    the task is idempotent), so the API does not wait for a second disk flush per upload."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def relay_outbox(min_age_s: float = 2.0, limit: int = 5000) -> int:
    """Queue every scan whose hand-off to the broker failed; returns how many went through.

    `min_age_s` leaves just-committed scans to their own on-commit hand-off."""
    cutoff = timezone.now() - datetime.timedelta(seconds=min_age_s)
    pending = Scan.objects.filter(status=Scan.Status.QUEUED, dispatched_at__isnull=True, created_at__lte=cutoff)
    sent = 0
    for scan_id in pending.order_by("pk").values_list("pk", flat=True)[:limit]:
        if not dispatch(scan_id):
            break  # still down: the rest stay in the outbox for the next sweep
        sent += 1
    return sent


def recover_stuck_scans(now: datetime.datetime | None = None) -> tuple[int, int]:
    """Re-queue scans whose worker died (running past the deadline, or queued long ago and never
    started); fail those that used all their attempts, with the reason. Returns (requeued, failed)."""
    now = now or timezone.now()
    running_cutoff = now - datetime.timedelta(seconds=settings.SCAN_DEADLINE_S)
    queued_cutoff = now - datetime.timedelta(seconds=settings.SCAN_QUEUED_DEADLINE_S)
    stuck_running = Scan.objects.filter(status=Scan.Status.RUNNING, started_at__lt=running_cutoff)
    stuck_queued = Scan.objects.filter(status=Scan.Status.QUEUED, dispatched_at__lt=queued_cutoff)
    requeued = failed = 0
    for scan in list(stuck_running) + list(stuck_queued):
        if scan.attempts >= settings.SCAN_MAX_ATTEMPTS:
            reason = (
                f"Gave up after {scan.attempts} attempts: the scan did not finish within "
                f"{settings.SCAN_DEADLINE_S} s each time (a worker stopped, or the audio is too costly)."
            )
            if Scan.objects.filter(pk=scan.pk, status=scan.status).update(
                status=Scan.Status.FAILED, error=reason, finished_at=now
            ):
                from fingerprint.signals import scan_finished

                transaction.on_commit(lambda pk=scan.pk: scan_finished.send(sender=Scan, scan_id=pk))
                failed += 1
            continue
        # A run counts its own attempt when it starts; a scan never started counts its re-queues.
        attempts = scan.attempts + (1 if scan.status == Scan.Status.QUEUED else 0)
        if Scan.objects.filter(pk=scan.pk, status=scan.status).update(
            status=Scan.Status.QUEUED, dispatched_at=None, attempts=attempts
        ):
            logger.warning("Scan %s was stuck (%s since %s): queued again", scan.pk, scan.status, scan.started_at)
            if dispatch(scan.pk):
                requeued += 1
    return requeued, failed
