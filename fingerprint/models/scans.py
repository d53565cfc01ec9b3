"""Scans of uploads, the matches they found (recordings, and works performed as covers), and which reference
audio is in the index."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from catalog.models import Artist, AudioAsset, Recording, Work


class ReferenceFingerprint(models.Model):
    """A reference asset's landmarks are in the index, made by this engine version."""

    asset = models.OneToOneField(AudioAsset, on_delete=models.CASCADE, related_name="fingerprint")
    engine_version = models.CharField(max_length=32)
    landmark_count = models.PositiveIntegerField()
    indexed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.asset} ({self.landmark_count} landmarks, {self.engine_version})"


class Scan(models.Model):
    """One identification job: an uploaded (or fetched) asset checked against the index.

    A scan submitted as a URL has no asset until its fetch succeeds. `dispatched_at` is the outbox:
    a scan whose task never reached the broker (broker down) has none and is queued again by
    `relay_outbox`; `attempts` counts the runs started, so a scan stuck past its deadline is retried
    a bounded number of times and then failed with the reason.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    FINAL = frozenset({Status.DONE, Status.FAILED})

    asset = models.ForeignKey(AudioAsset, on_delete=models.PROTECT, null=True, blank=True, related_name="scans")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="scans"
    )
    platform = models.ForeignKey(
        "fingerprint.Platform", on_delete=models.PROTECT, null=True, blank=True, related_name="scans"
    )
    submission = models.ForeignKey(
        "fingerprint.Submission", on_delete=models.SET_NULL, null=True, blank=True, related_name="scans"
    )
    source = models.ForeignKey(
        "fingerprint.Source", on_delete=models.SET_NULL, null=True, blank=True, related_name="scans"
    )
    source_url = models.URLField(max_length=2000, blank=True, help_text="The URL the audio was fetched from.")
    original_name = models.CharField(max_length=255, blank=True, help_text="The file name the platform sent.")
    attempts = models.PositiveSmallIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(blank=True)
    engine_version = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["platform", "-id"], name="scan_platform_recent")]
        constraints = [
            # A platform sending the same bytes twice (even concurrently) gets one scan.
            models.UniqueConstraint(
                fields=["platform", "asset"],
                condition=models.Q(platform__isnull=False, source_url=""),
                name="scan_upload_once_per_platform",
            )
        ]

    def __str__(self) -> str:
        return f"Scan {self.pk} of {self.display_name} ({self.status})"

    @property
    def display_name(self) -> str:
        if self.original_name:
            return self.original_name
        if self.asset_id is not None:
            return self.asset.original_name or self.asset.sha256[:12]
        return self.source_url


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


class WorkMatch(models.Model):
    """A registered composition (work) performed in a scanned upload, e.g. a cover: where in the upload and in
    the work's rendition, in which key and at which tempo, how sure (fingerprint.works)."""

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="work_matches")
    work = models.ForeignKey(Work, on_delete=models.PROTECT, related_name="work_matches")
    rendition = models.ForeignKey(
        AudioAsset,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rendition_matches",
        help_text="The rendition the work index holds for the work (its latest).",
    )
    query_start_s = models.FloatField(help_text="Where the performance starts in the upload (s).")
    query_end_s = models.FloatField()
    reference_start_s = models.FloatField(help_text="Where the matched part starts in the rendition (s).")
    reference_end_s = models.FloatField()
    transpose_semitones = models.SmallIntegerField(help_text="The upload is the work moved up this many semitones.")
    tempo_ratio = models.FloatField(default=1.0, help_text="Upload tempo / rendition tempo.")
    score = models.FloatField(help_text="The decision score (accepted from works.DECISION_THRESHOLD).")
    confidence = models.FloatField(help_text="0..1.")
    engine_version = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scan", "query_start_s"]
        constraints = [models.UniqueConstraint(fields=["scan", "work"], name="work_match_one_per_work_per_scan")]

    @property
    def duration_s(self) -> float:
        return self.query_end_s - self.query_start_s

    @property
    def summary(self) -> str:
        """'melody match, transposed +2 st, tempo x1.10': how the upload performs the work."""
        return f"melody match, transposed {self.transpose_semitones:+d} st, tempo x{self.tempo_ratio:.2f}"

    def __str__(self) -> str:
        return f"{self.work} at {self.query_start_s:.1f}-{self.query_end_s:.1f} s ({self.summary})"


class ArtistMatch(models.Model):
    """An upload with no recording or work match that sounds like a registered artist: an imitation
    candidate (fingerprint.artist_index). Style likeness, not identity: it says "sounds like", and
    generation_audit turns it into a possible-AI-imitation report when the upload is judged generated."""

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="artist_matches")
    artist = models.ForeignKey(Artist, on_delete=models.PROTECT, related_name="likeness_matches")
    similarity = models.FloatField(help_text="Cosine to the artist's style profile, in the collection's metric.")
    typicality = models.FloatField(
        null=True, help_text="0 at the edge of other artists' tracks, 1 at the artist's own median track."
    )
    exclusivity = models.FloatField(help_text="The share of other artists' excerpts no closer to the profile.")
    style_version = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scan", "-similarity"]
        constraints = [models.UniqueConstraint(fields=["scan", "artist"], name="artist_match_one_per_artist_per_scan")]

    def __str__(self) -> str:
        return f"sounds like {self.artist} (similarity {self.similarity:.2f})"
