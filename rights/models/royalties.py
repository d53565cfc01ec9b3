"""Splits, usage reports, royalty runs and the statements they produce."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from catalog.models import Recording, Work
from rights.models.claims import Claim, Dispute
from rights.models.licences import Licence
from rights.models.ownership import OwnershipConflict
from rights.models.parties import RightsHolder


class Stream(models.TextChoices):
    MASTER = "master", "Master (recording)"
    PUBLISHING = "publishing", "Publishing (work)"


class Split(models.Model):
    """How one income stream of a recording (master) or a work (publishing) is shared among parties,
    optionally only in some territories and over some dates. Its shares sum to exactly 100 %.

    Where several splits could apply, one naming the territory wins over one for everywhere, then
    the one that started last.
    """

    Stream = Stream

    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, null=True, blank=True, related_name="splits")
    work = models.ForeignKey(Work, on_delete=models.PROTECT, null=True, blank=True, related_name="splits")
    stream = models.CharField(max_length=16, choices=Stream.choices)
    territories = models.JSONField(default=list, blank=True, help_text="Empty: everywhere.")
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True, help_text="Inclusive.")
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recording__isnull=False, work__isnull=True, stream="master")
                | models.Q(recording__isnull=True, work__isnull=False, stream="publishing"),
                name="split_master_on_recording_publishing_on_work",
            )
        ]

    def __str__(self) -> str:
        where = ", ".join(self.territories) if self.territories else "everywhere"
        return f"{self.get_stream_display()} split of {self.recording or self.work} ({where})"


class SplitShare(models.Model):
    """One party's share (percent) of a split."""

    split = models.ForeignKey(Split, on_delete=models.CASCADE, related_name="shares")
    party = models.ForeignKey(RightsHolder, on_delete=models.PROTECT, related_name="split_shares")
    share = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("100"))],
    )
    role = models.CharField(max_length=100, blank=True, help_text="Artist, producer, label, writer, publisher...")

    class Meta:
        ordering = ["split", "pk"]
        constraints = [models.UniqueConstraint(fields=["split", "party"], name="split_share_one_per_party")]

    def __str__(self) -> str:
        return f"{self.party.name}: {self.share}%"


class UsageReport(models.Model):
    """One imported usage report (a platform's CSV or DDEX DSR flat file) for one period and currency.

    `pool_amount` is the money to share for pool models (pro-rata, user-centric); lines then carry
    plays, not money.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        DSR = "dsr", "DDEX DSR flat file"

    platform = models.ForeignKey(
        RightsHolder, on_delete=models.PROTECT, null=True, blank=True, related_name="usage_reports"
    )
    source_format = models.CharField(max_length=8, choices=Format.choices)
    profile = models.CharField(max_length=40, blank=True, help_text="DSR profile, e.g. BasicAudio or UGC.")
    file_name = models.CharField(max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, unique=True, help_text="The same file is never imported twice.")
    message_id = models.CharField(max_length=100, blank=True)
    period_start = models.DateField(db_index=True)
    period_end = models.DateField()
    currency = models.CharField(max_length=3)
    pool_amount = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    line_count = models.PositiveIntegerField(default=0)
    total_amount = models.DecimalField(max_digits=24, decimal_places=10, default=Decimal("0"))
    total_quantity = models.PositiveBigIntegerField(default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "pk"]

    def __str__(self) -> str:
        return f"{self.get_source_format_display()} {self.file_name or self.pk} ({self.period_start:%Y-%m})"


class UsageLine(models.Model):
    """One reported use: a recording (or work) played `quantity` times in a territory, earning `amount`
    in the report's currency, possibly on a claimed upload or under a licence."""

    report = models.ForeignKey(UsageReport, on_delete=models.CASCADE, related_name="lines", db_index=False)
    row_number = models.PositiveIntegerField(help_text="Line of the source file (1-based).")
    recording = models.ForeignKey(
        Recording, on_delete=models.PROTECT, null=True, blank=True, related_name="usage_lines"
    )
    work = models.ForeignKey(
        Work, on_delete=models.PROTECT, null=True, blank=True, related_name="usage_lines", db_index=False
    )
    stream = models.CharField(max_length=16, choices=Stream.choices, default=Stream.MASTER)
    territory = models.CharField(max_length=2)
    use = models.CharField(max_length=20, default="streaming")
    quantity = models.PositiveBigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=10, default=Decimal("0"))
    user_ref = models.CharField(max_length=100, blank=True, help_text="The listener (user-centric pools).")
    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, null=True, blank=True, related_name="usage_lines", db_index=False
    )
    licence = models.ForeignKey(
        Licence, on_delete=models.PROTECT, null=True, blank=True, related_name="usage_lines", db_index=False
    )

    class Meta:
        ordering = ["report", "row_number"]
        indexes = [
            models.Index(fields=["report", "recording", "id"], name="usage_line_report_rec"),
            models.Index(fields=["claim"], name="usage_line_claim", condition=models.Q(claim__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Row {self.row_number} of report {self.report_id}"


class RoyaltyRun(models.Model):
    """One royalty run for a calendar month: status, timings, and digests that let an auditor re-run it."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Superseded by a later run of the period"

    class PoolModel(models.TextChoices):
        REVENUE = "revenue", "Reported revenue per line"
        PRO_RATA = "pro_rata", "Pro-rata pool (by plays)"
        USER_CENTRIC = "user_centric", "User-centric pool (each user's payment over their plays)"

    period = models.DateField(help_text="First day of the month.")
    pool_model = models.CharField(max_length=16, choices=PoolModel.choices, default=PoolModel.REVENUE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    usage_lines = models.PositiveBigIntegerField(default=0)
    statement_lines = models.PositiveBigIntegerField(default=0)
    totals = models.JSONField(default=dict, blank=True, help_text="Per currency: paid, held, returned, minor units.")
    input_digest = models.CharField(max_length=64, blank=True)
    result_digest = models.CharField(max_length=64, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-period", "-started_at"]

    def __str__(self) -> str:
        return f"Royalty run {self.period:%Y-%m} ({self.pool_model}, {self.status})"


def _trail(model: type[models.Model] | str) -> models.ForeignKey:
    """A foreign key kept for the trail only: no database constraint, no index (see StatementLine)."""
    return models.ForeignKey(
        model,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


class StatementLine(models.Model):
    """One usage line's money in one run (or a part of it that was held or returned), with its trail back
    to the usage line, claim, split, licence, dispute or conflict it came from.

    `parties[i]` was paid `amounts[i]` minor units for `shares[i]` % of the split (a null party: the
    unallocated remainder of an incomplete ownership); held and returned lines pay nobody. One row per
    usage line rather than per party keeps a million-line run to about a million rows.

    Derived rows, rewritten by each run: no column carries a database constraint (PostgreSQL checks
    deferred foreign keys row by row at commit, which doubled a large run), and only the run is
    indexed; they point at rows that are never deleted.
    """

    class Kind(models.TextChoices):
        PAID = "paid", "Paid"
        HELD = "held", "Held"
        RETURNED = "returned", "Returned (not ours: claim released)"
        UNALLOCATED = "unallocated", "Unallocated (no split, no owner)"

    class Hold(models.TextChoices):
        NONE = "", "-"
        ESCROW = "escrow", "Escrow: claim disputed"
        REVIEW = "review", "Claim waiting for review"
        CONFLICT = "conflict", "Ownership conflict"

    class Source(models.TextChoices):
        USAGE = "usage", "Usage line"
        ESCROW_RELEASE = "escrow_release", "Escrow paid to the winner"
        CONFLICT_RELEASE = "conflict_release", "Held money released after a conflict"
        FLAT_FEE = "flat_fee", "Licence flat fee"
        MINIMUM_GUARANTEE = "minimum_guarantee", "Minimum guarantee top-up"

    run = models.ForeignKey(
        RoyaltyRun, on_delete=models.CASCADE, related_name="lines", db_index=True, db_constraint=False
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    hold = models.CharField(max_length=12, choices=Hold.choices, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.USAGE)
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField(help_text="The whole amount of this line, minor units.")
    usage_line = _trail(UsageLine)
    recording = _trail(Recording)
    work = _trail(Work)
    claim = _trail(Claim)
    split = _trail(Split)
    licence = _trail(Licence)
    dispute = _trail(Dispute)
    conflict = _trail(OwnershipConflict)
    parties = models.JSONField(default=list, blank=True, help_text="Party ids paid (null: unallocated).")
    amounts = models.JSONField(default=list, blank=True, help_text="Minor units per party, same order.")
    shares = models.JSONField(default=list, blank=True, help_text="Split share (%) per party, same order.")

    class Meta:
        ordering = ["run", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_minor} {self.currency} (run {self.run_id})"

    def parts(self) -> list[tuple[int | None, int, str | None]]:
        """(party id, minor units, share) for each party of the line."""
        return list(zip(self.parties, self.amounts, self.shares or [None] * len(self.parties), strict=True))


class Statement(models.Model):
    """What one party earned in one run, per currency (sums of its statement lines, minor units)."""

    run = models.ForeignKey(RoyaltyRun, on_delete=models.CASCADE, related_name="statements")
    party = models.ForeignKey(RightsHolder, on_delete=models.PROTECT, related_name="statements")
    currency = models.CharField(max_length=3)
    paid_minor = models.BigIntegerField(default=0)
    line_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["run", "party__name", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["run", "party", "currency"], name="statement_one_per_party_currency")
        ]

    def __str__(self) -> str:
        return f"{self.party.name} {self.run.period:%Y-%m}: {self.paid_minor} {self.currency} (minor units)"
