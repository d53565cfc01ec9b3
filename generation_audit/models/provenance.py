"""Provenance runs over stored audio and the findings each detector made, with their evidence."""

from __future__ import annotations

from django.db import models

from catalog.models import AudioAsset


class ProvenanceRunQuerySet(models.QuerySet):
    def done(self) -> ProvenanceRunQuerySet:
        return self.filter(status=ProvenanceRun.Status.DONE)


class ProvenanceRun(models.Model):
    """One pass of the provenance detectors over one asset, at the detector versions in `detector_versions`."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    asset = models.ForeignKey(AudioAsset, on_delete=models.CASCADE, related_name="provenance_runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    detector_versions = models.JSONField(default=dict, help_text="Detector name -> version this run used.")
    # The verdict combines the findings with the weights stated in generation_audit.verdict.
    ai_generated = models.BooleanField(null=True, blank=True, help_text="The combined verdict; empty until done.")
    score = models.FloatField(null=True, blank=True, help_text="0..1, combined; rises with confidence it is generated.")
    verdict_version = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ProvenanceRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["asset", "status"])]

    def __str__(self) -> str:
        return f"Provenance run {self.pk} of {self.asset} ({self.status})"


class Finding(models.Model):
    """What one detector concluded about the run's asset: calibrated score, label, strength and the evidence."""

    run = models.ForeignKey(ProvenanceRun, on_delete=models.CASCADE, related_name="findings")
    detector = models.CharField(max_length=64)
    detector_version = models.CharField(max_length=64)
    score = models.FloatField(help_text="0..1, rising with the calibrated probability that the audio is AI-generated.")
    label = models.CharField(max_length=32, db_index=True)
    strength = models.CharField(max_length=32, blank=True, help_text="strong, moderate or weak/self-declared.")
    evidence = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "detector"]
        constraints = [models.UniqueConstraint(fields=["run", "detector"], name="finding_one_per_detector_per_run")]

    def __str__(self) -> str:
        return f"{self.detector} {self.label} ({self.score:.2f})"
