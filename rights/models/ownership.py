"""Who owns which right in a recording or a work, where and when; and the conflicts when owners disagree."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from catalog.identifiers import IdentifierError
from catalog.models import Recording, Work
from rights import territories
from rights.models.parties import RightsHolder

MASTER_RIGHTS = {"master"}
WORK_RIGHTS = {"mechanical", "performance", "sync"}


class Right(models.TextChoices):
    MASTER = "master", "Master (sound recording)"
    MECHANICAL = "mechanical", "Mechanical"
    PERFORMANCE = "performance", "Performance"
    SYNC = "sync", "Synchronisation"


def normalise_territory_field(instance: models.Model, field: str, errors: dict[str, list[str]]) -> None:
    try:
        setattr(instance, field, territories.normalize_list(getattr(instance, field) or []))
    except IdentifierError as exc:
        errors[field] = [str(exc)]


class Ownership(models.Model):
    """A share (percent) of one right in a recording (master) or a work (mechanical, performance, sync),
    in a list of territories (ISO 3166-1 alpha-2, or WORLD), from `start_date` to `end_date` (inclusive;
    empty: open-ended). Owners of one right in one territory on one day must not exceed 100 %."""

    Right = Right

    owner = models.ForeignKey(RightsHolder, on_delete=models.PROTECT, related_name="ownerships")
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, null=True, blank=True, related_name="ownerships")
    work = models.ForeignKey(Work, on_delete=models.PROTECT, null=True, blank=True, related_name="ownerships")
    right = models.CharField(max_length=16, choices=Right.choices)
    territories = models.JSONField(default=list, help_text='Alpha-2 codes, or ["WORLD"].')
    share = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("100"))],
        help_text="Percent, e.g. 50.0000.",
    )
    start_date = models.DateField(default=datetime.date(1900, 1, 1))
    end_date = models.DateField(null=True, blank=True, help_text="Inclusive; empty: no end.")
    policy = models.ForeignKey(
        "rights.Policy",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ownerships",
        help_text="The match policy for this asset; empty: the owner's policy.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(recording__isnull=False, work__isnull=True, right="master"))
                | (
                    models.Q(recording__isnull=True, work__isnull=False)
                    & models.Q(right__in=["mechanical", "performance", "sync"])
                ),
                name="ownership_master_on_recording_publishing_on_work",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="ownership_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        asset = self.recording or self.work
        return f"{self.owner.name}: {self.share}% {self.right} of {asset} in {', '.join(self.territories)}"

    @property
    def asset_label(self) -> str:
        return str(self.recording or self.work)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        normalise_territory_field(self, "territories", errors)
        if not self.territories and "territories" not in errors:
            errors["territories"] = ["Name at least one territory (or WORLD)."]
        if (self.recording_id and self.work_id) or not (self.recording_id or self.work_id):
            errors["__all__"] = ["Name either a recording (master right) or a work (publishing rights), not both."]
        elif self.recording_id and self.right != Right.MASTER:
            errors["right"] = ["A recording carries the master right; publishing rights belong to works."]
        elif self.work_id and self.right not in WORK_RIGHTS:
            errors["right"] = ["A work carries mechanical, performance or sync rights; master belongs to recordings."]
        if self.end_date and self.start_date and self.end_date < self.start_date:
            errors["end_date"] = ["The ownership cannot end before it starts."]
        if errors:
            raise ValidationError(errors)

    def covers(self, territory: str, day: datetime.date) -> bool:
        return (
            self.start_date <= day
            and (self.end_date is None or day <= self.end_date)
            and territory in territories.expand(self.territories)
        )


class OwnershipConflictQuerySet(models.QuerySet["OwnershipConflict"]):
    def open(self) -> OwnershipConflictQuerySet:
        return self.filter(status=OwnershipConflict.Status.OPEN)


class OwnershipConflict(models.Model):
    """Owners assert more than 100 % of one right in some territories over some dates.

    A first-class item for staff: it stays open until the ownerships are corrected, and the
    conflicted share of income in those territories and dates is held, not paid, meanwhile.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    recording = models.ForeignKey(
        Recording, on_delete=models.PROTECT, null=True, blank=True, related_name="ownership_conflicts"
    )
    work = models.ForeignKey(Work, on_delete=models.PROTECT, null=True, blank=True, related_name="ownership_conflicts")
    right = models.CharField(max_length=16, choices=Right.choices)
    territories = models.JSONField(default=list, help_text="The concrete alpha-2 codes in conflict.")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    total_share = models.DecimalField(max_digits=9, decimal_places=4, help_text="Percent asserted in all.")
    conflicted_share = models.DecimalField(
        max_digits=7, decimal_places=4, help_text="Percent of income held until the conflict is resolved."
    )
    ownerships = models.ManyToManyField(Ownership, related_name="conflicts")
    signature = models.CharField(max_length=200, db_index=True, help_text="Asset, right, ownerships and dates.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    detected_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.TextField(blank=True)

    objects = OwnershipConflictQuerySet.as_manager()

    class Meta:
        ordering = ["status", "-detected_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["signature"],
                condition=models.Q(status="open"),
                name="ownership_conflict_one_open_per_signature",
            )
        ]

    def __str__(self) -> str:
        asset = self.recording or self.work
        where = territories.describe(frozenset(self.territories))
        return f"{self.total_share}% of {self.right} in {asset} ({where}, from {self.start_date})"

    def covers(self, territory: str, day: datetime.date) -> bool:
        return (
            self.start_date <= day and (self.end_date is None or day <= self.end_date) and territory in self.territories
        )
