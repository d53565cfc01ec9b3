"""fingerprint's tables: what is indexed, scans and their matches, and how uploads arrive
(platform accounts and their tokens, idempotent submissions, webhooks, scraped sources)."""

from fingerprint.models.platforms import ApiToken, Platform, Submission, WebhookDelivery, WebhookEndpoint
from fingerprint.models.references import ReferenceUpload
from fingerprint.models.scans import ArtistMatch, Match, ReferenceFingerprint, Scan, WorkMatch
from fingerprint.models.sources import Fetch, Source

__all__ = [
    "ApiToken",
    "ArtistMatch",
    "Fetch",
    "Match",
    "Platform",
    "ReferenceFingerprint",
    "ReferenceUpload",
    "Scan",
    "Source",
    "Submission",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkMatch",
]
