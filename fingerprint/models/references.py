"""Reference audio sent through the web pages: staged, then fingerprinted by a task, with its outcome."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from catalog.models import AudioAsset, Recording


def staged_upload_path(upload: ReferenceUpload, filename: str) -> str:
    # A fresh folder per upload: two people sending "master.wav" never overwrite each other's file, and
    # the person's file name is kept out of the path (only the row keeps it).
    return f"staging/references/{uuid.uuid4().hex}/audio"


class ReferenceUpload(models.Model):
    """One reference file someone sent for a recording, and what became of it.

    The file is validated before the row exists, so a row always names usable-looking audio; it is
    staged until the task registers it (`fingerprint.actions.register_reference`), which stores the
    content-addressed AudioAsset. The staged copy is removed once the upload is done or failed.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        FINGERPRINTING = "fingerprinting", "Fingerprinting"
        DONE = "done", "Fingerprinted"
        FAILED = "failed", "Failed"

    FINAL = frozenset({Status.DONE, Status.FAILED})

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="reference_uploads")
    staged_file = models.FileField(
        upload_to=staged_upload_path, max_length=300, blank=True, help_text="Empty once the upload is done or failed."
    )
    original_name = models.CharField(max_length=300, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(blank=True, help_text="Why it failed, for the person who sent it.")
    asset = models.ForeignKey(
        AudioAsset, on_delete=models.SET_NULL, null=True, blank=True, related_name="reference_uploads"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reference_uploads"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Reference upload {self.pk} for {self.recording} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL
