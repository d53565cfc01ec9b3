"""Configured sources that are crawled for audio, and the record of every fetch."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Source(models.Model):
    """Where label staff ask us to look for infringing audio: a list of URLs, a feed's enclosures,
    or the audio links of an HTML page. Crawled on a schedule (`crawl_sources`, Celery beat)."""

    class Kind(models.TextChoices):
        URL_LIST = "urls", "List of audio URLs"
        FEED = "feed", "RSS / Atom feed (enclosures)"
        PAGE = "page", "HTML page (audio links)"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    urls = models.TextField(help_text="One URL per line: the audio files, the feed, or the page.")
    active = models.BooleanField(default=True)
    interval_minutes = models.PositiveIntegerField(default=60)
    next_crawl_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_crawled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def url_list(self) -> list[str]:
        return [line.strip() for line in self.urls.splitlines() if line.strip() and not line.startswith("#")]


class Fetch(models.Model):
    """One HTTP fetch made for a source crawl or an API URL submission, with its outcome."""

    class Outcome(models.TextChoices):
        SCANNED = "scanned", "Fetched and queued for a scan"
        LISTED = "listed", "Fetched a feed or page and listed its audio links"
        DUPLICATE_URL = "duplicate_url", "Already fetched (same URL)"
        DUPLICATE_CONTENT = "duplicate_content", "Already scanned (same content)"
        ROBOTS = "robots", "Disallowed by robots.txt"
        BLOCKED = "blocked", "Refused: private, loopback or link-local address"
        HTTP_ERROR = "http_error", "HTTP error"
        TOO_LARGE = "too_large", "Over the size limit"
        NOT_AUDIO = "not_audio", "Not usable audio"
        ERROR = "error", "Network or other error"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, null=True, blank=True, related_name="fetches")
    scan = models.ForeignKey("fingerprint.Scan", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    url = models.URLField(max_length=2000, db_index=True)
    final_url = models.URLField(max_length=2000, blank=True, help_text="After redirects.")
    outcome = models.CharField(max_length=20, choices=Outcome.choices, db_index=True)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    fetched_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-fetched_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.url}: {self.outcome}"
