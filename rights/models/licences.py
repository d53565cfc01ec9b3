"""Licences: who may use what, how, where, when, and on which money terms."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from catalog.models import Artist, Label, Recording, Release, Work
from rights import licensing_terms
from rights.models.ownership import normalise_territory_field
from rights.models.parties import RightsHolder


class Licence(models.Model):
    """A licence from a licensor to a licensee.

    It covers recordings and works named one by one, or a catalogue slice (every recording of the
    listed labels or releases); for the listed uses, in the listed territories, over the term
    (inclusive dates, empty end: open-ended). Fee terms are read by royalty runs; `cap_uses` limits
    uses per calendar month and is checked by rights.licensing.is_licensed.
    """

    Use = licensing_terms.Use

    class FeeModel(models.TextChoices):
        FLAT = "flat", "Flat fee"
        REVENUE_SHARE = "revenue_share", "Revenue share"
        PER_USE = "per_use", "Per-use rate"
        MINIMUM_GUARANTEE = "minimum_guarantee", "Revenue share with a minimum guarantee"

    reference = models.CharField(max_length=100, unique=True, help_text="The contract reference.")
    licensor = models.ForeignKey(RightsHolder, on_delete=models.PROTECT, related_name="licences_granted")
    licensee = models.ForeignKey(RightsHolder, on_delete=models.PROTECT, related_name="licences_held")
    recordings = models.ManyToManyField(Recording, blank=True, related_name="licences")
    works = models.ManyToManyField(Work, blank=True, related_name="licences")
    artists = models.ManyToManyField(
        Artist,
        blank=True,
        related_name="likeness_licences",
        help_text="Artists whose likeness (voice, style, name) the AI-likeness uses cover, each only while the "
        "artist consents to that use.",
    )
    catalogue_labels = models.ManyToManyField(
        Label, blank=True, related_name="licences", help_text="Catalogue slice: every recording of these labels."
    )
    catalogue_releases = models.ManyToManyField(
        Release, blank=True, related_name="licences", help_text="Catalogue slice: every recording on these releases."
    )
    uses = models.JSONField(default=list, help_text="Uses granted: " + ", ".join(licensing_terms.USES))
    territories = models.JSONField(default=list, help_text='Alpha-2 codes, or ["WORLD"].')
    excluded_territories = models.JSONField(default=list, blank=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="Inclusive; empty: no end.")
    exclusive = models.BooleanField(default=False)
    fee_model = models.CharField(max_length=20, choices=FeeModel.choices, default=FeeModel.REVENUE_SHARE)
    currency = models.CharField(max_length=3, default="EUR")
    flat_fee = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    revenue_share = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Percent of the licensee's reported revenue due to the licensor.",
    )
    per_use_rate = models.DecimalField(max_digits=16, decimal_places=6, null=True, blank=True)
    minimum_guarantee = models.DecimalField(
        max_digits=16, decimal_places=4, null=True, blank=True, help_text="Per calendar month."
    )
    cap_uses = models.PositiveBigIntegerField(null=True, blank=True, help_text="Uses allowed per calendar month.")
    cap_amount = models.DecimalField(
        max_digits=16, decimal_places=4, null=True, blank=True, help_text="Most the licensee pays per month."
    )
    revoked_at = models.DateField(null=True, blank=True, help_text="Terminated early: not valid from this day.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reference"]

    def __str__(self) -> str:
        return f"{self.reference}: {self.licensor.name} -> {self.licensee.name}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        normalise_territory_field(self, "territories", errors)
        normalise_territory_field(self, "excluded_territories", errors)
        if not self.territories and "territories" not in errors:
            errors["territories"] = ["Name at least one territory (or WORLD)."]
        bad = sorted(set(self.uses or []) - set(licensing_terms.USES))
        if bad or not self.uses:
            errors["uses"] = [f"Name the uses granted from: {', '.join(licensing_terms.USES)}."]
        if self.end_date and self.start_date and self.end_date < self.start_date:
            errors["end_date"] = ["The licence cannot end before it starts."]
        needs = {
            self.FeeModel.FLAT: "flat_fee",
            self.FeeModel.REVENUE_SHARE: "revenue_share",
            self.FeeModel.PER_USE: "per_use_rate",
            self.FeeModel.MINIMUM_GUARANTEE: "minimum_guarantee",
        }
        field = needs.get(self.fee_model)
        if field and getattr(self, field) is None:
            errors[field] = [f"A {self.get_fee_model_display().lower()} licence needs {field.replace('_', ' ')}."]
        if self.fee_model == self.FeeModel.MINIMUM_GUARANTEE and self.revenue_share is None:
            errors["revenue_share"] = ["A minimum guarantee is set against a revenue share: give the share."]
        if errors:
            raise ValidationError(errors)

    def terms(self) -> licensing_terms.LicenceTerms:
        return licensing_terms.LicenceTerms(
            uses=frozenset(self.uses or ()),
            territories=tuple(self.territories or ()),
            excluded_territories=tuple(self.excluded_territories or ()),
            start=self.start_date,
            end=self.end_date,
            revoked_from=self.revoked_at,
            cap_uses=self.cap_uses,
        )

    def valid_on(self, day: datetime.date) -> bool:
        return self.terms().in_term(day)
