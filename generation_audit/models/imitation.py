"""Possible AI imitations of registered artists: an upload that uses none of an artist's recordings or
works, sounds like them (fingerprint.ArtistMatch) and is judged AI-generated (a provenance verdict)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models import Artist
from fingerprint.models import ArtistMatch, Scan
from generation_audit.models.provenance import ProvenanceRun


class ImitationReport(models.Model):
    """'Possible AI imitation of artist X': for label staff to confirm or dismiss, with the uploader's
    AI-likeness licence cover for that artist as it stood when the report was made."""

    class Status(models.TextChoices):
        OPEN = "open", "Open: to review"
        LICENSED = "licensed", "Licensed: the uploader holds an AI-likeness licence for the artist"
        CONFIRMED = "confirmed", "Confirmed imitation"
        DISMISSED = "dismissed", "Dismissed"

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="imitation_reports")
    artist = models.ForeignKey(Artist, on_delete=models.PROTECT, related_name="imitation_reports")
    artist_match = models.ForeignKey(ArtistMatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    provenance_run = models.ForeignKey(ProvenanceRun, on_delete=models.PROTECT, related_name="imitation_reports")
    similarity = models.FloatField(help_text="Style likeness to the artist's profile (cosine).")
    ai_score = models.FloatField(help_text="The provenance verdict's score for the upload.")
    licensed_territories = models.JSONField(
        default=list, blank=True, help_text="Where the uploader may use the artist's likeness (style), that day."
    )
    licences = models.JSONField(default=list, blank=True, help_text="References of the licences giving that cover.")
    licence_note = models.CharField(max_length=500, help_text="Why the uploader is or is not licensed.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    review_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["scan", "artist"], name="one_imitation_report_per_scan_artist")]

    @property
    def headline(self) -> str:
        return f"possible AI imitation of {self.artist}"

    def __str__(self) -> str:
        return f"Scan {self.scan_id}: {self.headline}"
