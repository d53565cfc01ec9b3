"""Policies, claims and the history of every claim."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models import Label, Recording
from fingerprint.models import Match
from rights import claims


class Policy(models.Model):
    """What a label does with matches of its recordings, and when a person must look first."""

    class Action(models.TextChoices):
        MONETIZE = "monetize", "Monetize"
        TRACK = "track", "Track"
        BLOCK = "block", "Block"

    name = models.CharField(max_length=200)
    label = models.ForeignKey(
        Label,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="policies",
        help_text="Empty: the default policy for labels without their own.",
    )
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.MONETIZE)
    min_confidence = models.FloatField(default=0.9, help_text="Below this confidence a claim waits for review.")
    min_match_s = models.FloatField(default=5.0, help_text="Matches shorter than this (s) wait for review.")
    always_review = models.BooleanField(default=True, help_text="Every claim waits for a person.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(fields=["label"], name="policy_one_per_label"),
            models.UniqueConstraint(
                fields=["label"], condition=models.Q(label__isnull=True), name="policy_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_action_display()})"

    def terms(self) -> claims.PolicyTerms:
        return claims.PolicyTerms(self.action, self.min_confidence, self.min_match_s, self.always_review)


class ClaimQuerySet(models.QuerySet["Claim"]):
    def pending(self) -> ClaimQuerySet:
        """Potential claims waiting for a person."""
        return self.filter(status=Claim.Status.POTENTIAL)


class Claim(models.Model):
    """A label's claim on an upload, made from one match under one policy."""

    class Status(models.TextChoices):
        POTENTIAL = claims.POTENTIAL, "Potential (needs review)"
        ACTIVE = claims.ACTIVE, "Active"
        RELEASED = claims.RELEASED, "Released"
        DISPUTED = claims.DISPUTED, "Disputed"
        APPEALED = claims.APPEALED, "Appealed"
        TAKEDOWN = claims.TAKEDOWN, "Taken down"

    match = models.OneToOneField(Match, on_delete=models.PROTECT, related_name="claim")
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="claims")
    label = models.ForeignKey(Label, on_delete=models.PROTECT, null=True, blank=True, related_name="claims")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="claims")
    action = models.CharField(max_length=16, choices=Policy.Action.choices)
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    review_reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Claim {self.pk} on {self.recording} ({self.status})"


class ClaimEvent(models.Model):
    """One step in a claim's history: who moved it from which state to which, when and why."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="claim_events"
    )
    from_status = models.CharField(max_length=16, blank=True, help_text="Empty when the claim was created.")
    to_status = models.CharField(max_length=16)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["claim", "at", "pk"]

    @property
    def actor_name(self) -> str:
        return self.actor.get_username() if self.actor else "system"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name}: {self.from_status or 'new'} -> {self.to_status}"
