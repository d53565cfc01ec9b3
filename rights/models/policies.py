"""Match policies: ordered rules (action + conditions) and the review thresholds that route claims to people."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from catalog.models import Label
from rights import claims
from rights.models.ownership import normalise_territory_field


class Action(models.TextChoices):
    MONETIZE = claims.MONETIZE, "Monetize"
    TRACK = claims.TRACK, "Track"
    BLOCK = claims.BLOCK, "Block"


class Policy(models.Model):
    """What an owner does with matches of its assets, and when a person must look first.

    A policy with rules applies its first applicable rule, per territory; a policy without rules
    applies `action` everywhere. The thresholds route claims to review whatever the action.
    """

    Action = Action

    name = models.CharField(max_length=200)
    label = models.ForeignKey(
        Label,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="policies",
        help_text="Empty: the default policy for labels without their own.",
    )
    owner = models.ForeignKey(
        "rights.RightsHolder",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="policies",
        help_text="The owner whose policy this is (label policies name the label instead).",
    )
    action = models.CharField(
        max_length=16, choices=Action.choices, default=Action.MONETIZE, help_text="Used when the policy has no rules."
    )
    min_confidence = models.FloatField(default=0.9, help_text="Below this confidence a claim waits for review.")
    min_match_s = models.FloatField(default=5.0, help_text="Matches shorter than this (s) wait for review.")
    always_review = models.BooleanField(default=True, help_text="Every claim waits for a person.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(fields=["label"], name="policy_one_per_label"),
            models.UniqueConstraint(
                fields=["label"],
                condition=models.Q(label__isnull=True, owner__isnull=True),
                name="policy_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_action_display()})"

    def terms(self) -> claims.PolicyTerms:
        return claims.PolicyTerms(self.action, self.min_confidence, self.min_match_s, self.always_review)

    def rule_terms(self) -> tuple[claims.RuleTerms, ...]:
        """The ordered rules as pure values (uses prefetched `rules` when present)."""
        return tuple(rule.terms() for rule in sorted(self.rules.all(), key=lambda r: (r.position, r.pk)))


class PolicyRule(models.Model):
    """One rule of a policy: an action and the conditions under which it applies (all must hold).

    Empty conditions are ignored. Durations are seconds, percents 0-100 of the upload (match) or
    of the reference. The first applicable rule of a policy wins.
    """

    class MatchType(models.TextChoices):
        EXACT = claims.EXACT, "Exact (whole reference, unaltered)"
        MODIFIED = claims.MODIFIED, "Pitch/tempo modified"
        PARTIAL = claims.PARTIAL, "Partial (part of the reference, unaltered)"
        MELODY = claims.MELODY, "Melody"

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(help_text="Rules are tried in this order; the first that applies wins.")
    action = models.CharField(max_length=16, choices=Action.choices)
    territories = models.JSONField(default=list, blank=True, help_text="Applies only here (empty: everywhere).")
    excluded_territories = models.JSONField(default=list, blank=True, help_text="Never applies here.")
    min_match_s = models.FloatField(null=True, blank=True)
    max_match_s = models.FloatField(null=True, blank=True)
    min_match_percent = models.FloatField(null=True, blank=True)
    max_match_percent = models.FloatField(null=True, blank=True)
    min_reference_s = models.FloatField(null=True, blank=True)
    max_reference_s = models.FloatField(null=True, blank=True)
    min_reference_percent = models.FloatField(null=True, blank=True)
    max_reference_percent = models.FloatField(null=True, blank=True)
    match_types = models.JSONField(default=list, blank=True, help_text="Applies only to these (empty: any).")
    review = models.BooleanField(default=False, help_text="Claims made under this rule wait for a person.")

    class Meta:
        ordering = ["policy", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["policy", "position"], name="policy_rule_unique_position")]

    def __str__(self) -> str:
        return f"{self.policy.name} #{self.position}: {self.action}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        normalise_territory_field(self, "territories", errors)
        normalise_territory_field(self, "excluded_territories", errors)
        bad = sorted(set(self.match_types or []) - set(claims.MATCH_TYPES))
        if bad:
            errors["match_types"] = [f"Unknown match type(s) {', '.join(bad)}; use {', '.join(claims.MATCH_TYPES)}."]
        for low, high in (
            ("min_match_s", "max_match_s"),
            ("min_match_percent", "max_match_percent"),
            ("min_reference_s", "max_reference_s"),
            ("min_reference_percent", "max_reference_percent"),
        ):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                errors[high] = [f"{high} must not be below {low}."]
        if errors:
            raise ValidationError(errors)

    def terms(self) -> claims.RuleTerms:
        return claims.RuleTerms(
            action=self.action,
            territories=tuple(self.territories or ()),
            excluded_territories=tuple(self.excluded_territories or ()),
            match_s=(self.min_match_s, self.max_match_s),
            match_percent=(self.min_match_percent, self.max_match_percent),
            reference_s=(self.min_reference_s, self.max_reference_s),
            reference_percent=(self.min_reference_percent, self.max_reference_percent),
            match_types=tuple(self.match_types or ()),
            review=self.review,
        )
