"""Scans of uploads, the matches they found, and which reference audio is in the index."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from catalog.models import AudioAsset, Recording


class ReferenceFingerprint(models.Model):
    """A reference asset's landmarks are in the index, made by this engine version."""

    asset = models.OneToOneField(AudioAsset, on_delete=models.CASCADE, related_name="fingerprint")
    engine_version = models.CharField(max_length=32)
    landmark_count = models.PositiveIntegerField()
    indexed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.asset} ({self.landmark_count} landmarks, {self.engine_version})"


class Scan(models.Model):
    """One identification job: an uploaded asset checked against the index."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    asset = models.ForeignKey(AudioAsset, on_delete=models.PROTECT, related_name="scans")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="scans"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(blank=True)
    engine_version = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Scan {self.pk} of {self.asset.original_name or self.asset.sha256[:12]} ({self.status})"


class Match(models.Model):
    """A registered recording heard in a scanned upload: where in each, how altered, how sure."""

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="matches")
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="matches")
    reference_asset = models.ForeignKey(AudioAsset, on_delete=models.PROTECT, related_name="reference_matches")
    query_start_s = models.FloatField(help_text="Where the match starts in the upload (s).")
    query_end_s = models.FloatField(help_text="Where it ends in the upload (s).")
    reference_start_s = models.FloatField(help_text="Where the matched span starts in the reference (s).")
    reference_end_s = models.FloatField()
    pitch_factor = models.FloatField(default=1.0, help_text="Upload pitch / reference pitch.")
    tempo_factor = models.FloatField(default=1.0, help_text="Upload tempo / reference tempo.")
    aligned_landmarks = models.PositiveIntegerField()
    score = models.FloatField(help_text="Aligned landmarks: grows with the evidence.")
    confidence = models.FloatField(help_text="0..1.")
    engine_version = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scan", "query_start_s"]
        constraints = [
            models.UniqueConstraint(fields=["scan", "reference_asset"], name="match_one_per_reference_per_scan")
        ]

    @property
    def offset_s(self) -> float:
        """Reference time at the start of the upload: reference time = upload time + offset."""
        return self.reference_start_s - self.query_start_s

    @property
    def duration_s(self) -> float:
        return self.query_end_s - self.query_start_s

    def __str__(self) -> str:
        return f"{self.recording} at {self.query_start_s:.1f}-{self.query_end_s:.1f} s (score {self.score:.0f})"
