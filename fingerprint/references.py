"""Reference audio sent through the web pages: stage and validate a file, then fingerprint it in a task.

`stage_reference` answers the person at once (a bad file is refused with the reason and nothing is
stored); `fingerprint_upload` runs in the `scans` queue (in-process where no broker is configured),
registers the staged file with `fingerprint.actions.register_reference` and records done or failed.
"""

from __future__ import annotations

import datetime
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Recording
from fingerprint import actions, audio
from fingerprint.models import ReferenceUpload

logger = logging.getLogger(__name__)

__all__ = ["describe", "fingerprint_upload", "queue", "stage_reference"]

_CHUNK = 1 << 20


def stage_reference(
    recording: Recording,
    chunks: Iterable[bytes],
    *,
    original_name: str = "",
    uploaded_by: Any = None,
    declared_size: int | None = None,
) -> ReferenceUpload:
    """Validate the audio in `chunks` and stage it as a queued ReferenceUpload of `recording`; the
    fingerprinting task is queued once the row is committed.

    Raises audio.AudioError (empty, oversize, not audio, truncated, too short or long, silent) before
    anything is stored: no row, no file.
    """
    if declared_size is not None and declared_size > settings.AUDIO_MAX_BYTES:
        # Refused before a byte is copied: Django has already spooled it, but we need not copy it again.
        raise audio.AudioError(
            "too_large", f"The file is {declared_size} bytes; the limit is {settings.AUDIO_MAX_BYTES} bytes."
        )
    fd, temp_name = tempfile.mkstemp(prefix="reference-", suffix=".upload")
    temp_path = Path(temp_name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > settings.AUDIO_MAX_BYTES:
                    raise audio.AudioError(
                        "too_large", f"The file is over {settings.AUDIO_MAX_BYTES} bytes, the limit."
                    )
                out.write(chunk)
        actions.validate_upload(temp_path)
        upload = ReferenceUpload(
            recording=recording, original_name=original_name[:300], size_bytes=size, uploaded_by=uploaded_by
        )
        with temp_path.open("rb") as fh:
            upload.staged_file.save("audio", File(fh), save=False)
        try:
            with transaction.atomic():
                upload.save()
                queue(upload)
        except BaseException:
            _remove_staged(upload)
            raise
        return upload
    finally:
        temp_path.unlink(missing_ok=True)


def queue(upload: ReferenceUpload) -> None:
    """Hand the upload to the `scans` queue once its row is committed (a worker must be able to read it).

    robust: a broker that cannot be reached leaves the upload queued (the status says so) instead of
    failing the request that stored it; queueing it again later is safe, the task being idempotent.
    """
    from fingerprint import tasks  # tasks imports this module

    upload_id = upload.pk
    transaction.on_commit(lambda: tasks.fingerprint_reference_upload.delay(upload_id), robust=True)


def fingerprint_upload(upload_id: int) -> ReferenceUpload:
    """Register one staged upload's audio as its recording's reference and record the outcome.

    Idempotent: a done or failed upload is returned as it is. An upload left `fingerprinting` by a
    worker that died is redone (registering the same bytes again reuses what was stored). Unusable
    audio and audio that is already another recording's reference fail the upload with the reason.
    """
    with transaction.atomic():
        upload = ReferenceUpload.objects.select_for_update().select_related("recording").get(pk=upload_id)
        if upload.is_final:
            return upload
        upload.status = ReferenceUpload.Status.FINGERPRINTING
        upload.started_at = timezone.now()
        upload.attempts = F("attempts") + 1
        upload.save(update_fields=["status", "started_at", "attempts"])
    upload.refresh_from_db()
    if not upload.staged_file:
        return _finish(upload, ReferenceUpload.Status.FAILED, error="The staged file is missing; send it again.")
    try:
        asset = actions.register_reference(upload.recording, upload.staged_file.path, upload.original_name)
    except (audio.AudioError, actions.ReferenceConflictError, OSError) as exc:
        return _finish(upload, ReferenceUpload.Status.FAILED, error=str(exc))
    except OperationalError:
        raise  # the database is away: the task retries, the upload stays as it is
    except Exception as exc:
        logger.exception("Reference upload %s could not be fingerprinted", upload_id)
        _finish(upload, ReferenceUpload.Status.FAILED, error=f"Fingerprinting failed unexpectedly ({exc}).")
        raise
    return _finish(upload, ReferenceUpload.Status.DONE, asset=asset)


def _finish(upload: ReferenceUpload, status: str, *, error: str = "", asset: Any = None) -> ReferenceUpload:
    # The staged copy goes in both cases: a done upload's audio lives on as its AudioAsset, a failed
    # one's is of no further use (the person is told why and sends a better file).
    _remove_staged(upload)
    upload.status = status
    upload.error = error
    upload.asset = asset
    upload.staged_file = ""
    upload.finished_at = timezone.now()
    upload.save(update_fields=["status", "error", "asset", "staged_file", "finished_at"])
    return upload


def _remove_staged(upload: ReferenceUpload) -> None:
    if upload.staged_file and upload.staged_file.name:
        storage = upload.staged_file.storage
        name = upload.staged_file.name
        storage.delete(name)
        folder = Path(storage.path(name)).parent
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def describe(upload: ReferenceUpload) -> str:
    """The status in words: 'Queued', 'Fingerprinting', 'Fingerprinted: 3:12, 412 landmarks', 'Failed: why'."""
    if upload.status == ReferenceUpload.Status.DONE:
        asset = upload.asset
        if asset is None:
            return "Fingerprinted (the stored audio has since been removed)"
        minutes, seconds = divmod(round(asset.duration_s), 60)
        fingerprint = getattr(asset, "fingerprint", None)
        marks = f", {fingerprint.landmark_count} landmarks" if fingerprint is not None else ""
        return f"Fingerprinted: {minutes}:{seconds:02d}{marks}"
    if upload.status == ReferenceUpload.Status.FAILED:
        return f"Failed: {upload.error}"
    return upload.get_status_display()


QUEUED_GRACE_S = 120  # a queued upload older than this has lost its broker message
MAX_ATTEMPTS = 3


def recover_stalled(now: datetime.datetime | None = None, deadline_s: float | None = None) -> int:
    """Queue again the uploads whose message was lost (broker away when they were stored) or whose worker
    died mid-fingerprint; after MAX_ATTEMPTS an upload fails with the reason. Returns how many were queued.

    Runs on the beat sweep with the scans (fingerprint.tasks.sweep_scans).
    """
    from fingerprint import tasks  # tasks imports this module

    now = now or timezone.now()
    deadline_s = settings.SCAN_DEADLINE_S if deadline_s is None else deadline_s
    lost = ReferenceUpload.objects.filter(
        status=ReferenceUpload.Status.QUEUED, created_at__lte=now - datetime.timedelta(seconds=QUEUED_GRACE_S)
    )
    stuck = ReferenceUpload.objects.filter(
        status=ReferenceUpload.Status.FINGERPRINTING, started_at__lte=now - datetime.timedelta(seconds=deadline_s)
    )
    queued = 0
    for upload in [*lost, *stuck]:
        if upload.attempts >= MAX_ATTEMPTS:
            _finish(
                upload,
                ReferenceUpload.Status.FAILED,
                error=f"Fingerprinting did not finish after {upload.attempts} attempts; send the file again.",
            )
            continue
        tasks.fingerprint_reference_upload.delay(upload.pk)
        queued += 1
    return queued
