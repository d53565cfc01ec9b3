"""Platform accounts: who submits uploads through the API, with which tokens, and where their
results are pushed (webhooks)."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Platform(models.Model):
    """A platform account (a video or music service): submits uploads, reads its own scans and
    claims, files disputes. `members` are the logins that act for it; each sees only its data."""

    name = models.CharField(max_length=200, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="platforms")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def token_digest(raw_key: str) -> str:
    """Tokens are stored as their sha256 only: a leaked database does not leak working keys."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiToken(models.Model):
    """An API key of a platform. The key is shown once, when it is issued; only its digest is kept."""

    PREFIX_LENGTH = 8

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="The member the token acts as.",
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True, help_text="The key's first characters.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.platform} token {self.prefix}… ({'revoked' if self.revoked_at else 'active'})"

    @classmethod
    def issue(cls, platform: Platform, user: object, name: str = "") -> tuple[ApiToken, str]:
        """A new token and its key (returned once, never stored)."""
        raw_key = secrets.token_urlsafe(32)
        token = cls.objects.create(
            platform=platform, user=user, name=name, prefix=raw_key[: cls.PREFIX_LENGTH], digest=token_digest(raw_key)
        )
        return token, raw_key

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class Submission(models.Model):
    """One POST of uploads under an Idempotency-Key: the same key again returns the same scans."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="submissions")
    idempotency_key = models.CharField(max_length=255)
    request_digest = models.CharField(
        max_length=64, help_text="sha256 over the submitted items: a key reused for other content is refused."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "idempotency_key"], name="submission_key_once_per_platform")
        ]

    def __str__(self) -> str:
        return f"{self.platform} submission {self.idempotency_key}"


class WebhookEndpoint(models.Model):
    """A URL of a platform that receives signed event notifications (scan results, claims, disputes)."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=64, default=secrets.token_hex, help_text="Signs each delivery (HMAC-SHA256).")
    events = models.JSONField(default=list, blank=True, help_text="Event names to send; empty sends every event.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["platform", "pk"]

    def __str__(self) -> str:
        return f"{self.platform} → {self.url}"

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one endpoint: every attempt's outcome is kept, and any
    delivery can be sent again."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (retries exhausted)"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4, help_text="The same for every attempt: receivers dedupe on it.")
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True, help_text="Each attempt: at, status code or error, seconds.")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_event_once_per_endpoint")
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint.url} ({self.status})"
