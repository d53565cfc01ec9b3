"""Claims on uploads, their history, disputes and appeals, and the matches deliberately left unclaimed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import AudioAsset, Label, Recording, Work
from fingerprint.models import Match, Scan, WorkMatch
from rights import claims
from rights.models.parties import RightsHolder
from rights.models.policies import Action, Policy


class ClaimQuerySet(models.QuerySet["Claim"]):
    def pending(self) -> ClaimQuerySet:
        """Potential claims waiting for a person."""
        return self.filter(status=Claim.Status.POTENTIAL)

    def with_sources(self) -> ClaimQuerySet:
        """With what a page about claims shows of each: the recording or work, the upload, the audio it matched."""
        return self.select_related(
            "recording",
            "work",
            "match__scan__platform",
            "match__scan__asset",
            "match__reference_asset",
            "work_match__scan__platform",
            "work_match__scan__asset",
            "work_match__rendition",
        )

    def due(self, now: object) -> ClaimQuerySet:
        """Claims whose timer has run out at `now` (potential, disputed or appealed with a past deadline)."""
        return self.filter(
            status__in=[Claim.Status.POTENTIAL, Claim.Status.DISPUTED, Claim.Status.APPEALED], deadline__lte=now
        )


def _exactly_one(first: str, second: str) -> Q:
    return Q(**{f"{first}__isnull": False, f"{second}__isnull": True}) | Q(
        **{f"{first}__isnull": True, f"{second}__isnull": False}
    )


class Claim(models.Model):
    """A claim on an upload, made from one match under the owners' policies.

    A recording claim comes from a Match (the master and the works it embeds); a melody claim from a
    WorkMatch (a cover: the work's publishing rights only). `territory_actions` maps each action to the
    territories where it applies (most restrictive of all owners); `action` is the most restrictive of
    them. `resolution` keeps what each owner's policy decided, so staff can see why.
    """

    class MatchType(models.TextChoices):
        RECORDING = "recording", "Recording"
        MELODY = claims.MELODY, "Melody (composition performed)"

    class Status(models.TextChoices):
        POTENTIAL = claims.POTENTIAL, "Potential (needs review)"
        ACTIVE = claims.ACTIVE, "Active"
        RELEASED = claims.RELEASED, "Released"
        DISPUTED = claims.DISPUTED, "Disputed"
        APPEALED = claims.APPEALED, "Appealed"
        TAKEDOWN = claims.TAKEDOWN, "Taken down"

    match = models.OneToOneField(Match, on_delete=models.PROTECT, null=True, blank=True, related_name="claim")
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, null=True, blank=True, related_name="claims")
    work_match = models.OneToOneField(WorkMatch, on_delete=models.PROTECT, null=True, blank=True, related_name="claim")
    work = models.ForeignKey(Work, on_delete=models.PROTECT, null=True, blank=True, related_name="claims")
    match_type = models.CharField(max_length=16, choices=MatchType.choices, default=MatchType.RECORDING)
    label = models.ForeignKey(Label, on_delete=models.PROTECT, null=True, blank=True, related_name="claims")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="claims")
    claimant = models.ForeignKey(
        RightsHolder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claims_made",
        help_text="The owner who answers disputes (the largest owner of the decisive right).",
    )
    uploader = models.ForeignKey(
        RightsHolder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claims_received",
        help_text="The party whose account submitted the upload.",
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    territory_actions = models.JSONField(default=dict, blank=True)
    resolution = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    review_reasons = models.JSONField(default=list, blank=True)
    deadline = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When the running timer (review, dispute, appeal) runs out."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=_exactly_one("match", "work_match"), name="claim_one_source")]

    def __str__(self) -> str:
        return f"Claim {self.pk} on {self.subject} ({self.status})"

    @staticmethod
    def on_scans(**lookups: object) -> Q:
        """Claims whose upload (the scan of their match or work match) satisfies `lookups`, e.g.
        `Claim.on_scans(platform__in=ids)`."""
        recording = Q(**{f"match__scan__{key}": value for key, value in lookups.items()})
        return recording | Q(**{f"work_match__scan__{key}": value for key, value in lookups.items()})

    @property
    def is_melody(self) -> bool:
        return self.match_type == self.MatchType.MELODY

    @property
    def source(self) -> Match | WorkMatch:
        """The match the claim was made from: both kinds have scan, spans, score and confidence."""
        source = self.match if self.match_id is not None else self.work_match
        assert source is not None  # the claim_one_source constraint
        return source

    @property
    def scan(self) -> Scan:
        return self.source.scan

    @property
    def subject(self) -> Recording | Work:
        """What is claimed: the recording, or the work a cover performs."""
        subject = self.recording if self.recording_id is not None else self.work
        assert subject is not None
        return subject

    @property
    def reference_asset(self) -> AudioAsset | None:
        """The audio the upload was matched against: the recording's reference or the work's rendition."""
        source = self.source
        return source.reference_asset if isinstance(source, Match) else source.rendition

    @property
    def match_summary(self) -> str:
        """How the upload uses the subject, for people: 'melody match, transposed +2 st, tempo x1.10' ('' for a
        recording match, whose spans say it all)."""
        source = self.source
        return source.summary if isinstance(source, WorkMatch) else ""

    def open_dispute(self) -> Dispute | None:
        return self.disputes.filter(outcome=Dispute.Outcome.PENDING).order_by("-opened_at", "-pk").first()

    def latest_dispute(self) -> Dispute | None:
        return self.disputes.order_by("-opened_at", "-pk").first()


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


class Dispute(models.Model):
    """An uploader's dispute of a claim, or its appeal after the claimant upheld the dispute.

    The claimant answers before `deadline`; no answer releases the claim. Revenue on the claim is
    held in escrow while it is disputed or appealed and paid to the side that wins (`winner`).
    """

    class Kind(models.TextChoices):
        DISPUTE = "dispute", "Dispute"
        APPEAL = "appeal", "Appeal"

    class Reason(models.TextChoices):
        MISIDENTIFIED = "misidentified", "Misidentified: the upload does not contain this recording"
        LICENSED = "licensed", "Licensed: the uploader holds a licence"
        ORIGINAL = "original", "Original content of the uploader"
        PUBLIC_DOMAIN = "public_domain", "Public domain"
        FAIR_USE = "fair_use", "Fair use / fair dealing"

    class Outcome(models.TextChoices):
        PENDING = "pending", "Waiting for the claimant"
        UPHELD = "upheld", "Upheld by the claimant (claim reinstated)"
        RELEASED = "released", "Claim released by the claimant"
        EXPIRED = "expired", "No answer in time (claim released)"
        TAKEDOWN = "takedown", "Appeal rejected with a takedown"

    CLAIMANT_WINS = frozenset({Outcome.UPHELD, Outcome.TAKEDOWN})
    UPLOADER_WINS = frozenset({Outcome.RELEASED, Outcome.EXPIRED})

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="disputes")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DISPUTE)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    evidence = models.TextField(help_text="What the uploader offers: licence numbers, links, an explanation.")
    disputant = models.ForeignKey(
        RightsHolder, on_delete=models.PROTECT, null=True, blank=True, related_name="disputes_opened"
    )
    claimant = models.ForeignKey(
        RightsHolder, on_delete=models.PROTECT, null=True, blank=True, related_name="disputes_received"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField()
    deadline = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING, db_index=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of claim {self.claim_id} ({self.reason}, {self.outcome})"

    @property
    def winner(self) -> str:
        """'claimant', 'uploader', or '' while undecided."""
        if self.outcome in self.CLAIMANT_WINS:
            return "claimant"
        if self.outcome in self.UPLOADER_WINS:
            return "uploader"
        return ""


class ReferenceOverlap(models.Model):
    """Two registered references contain the same audio (one upload span matched both).

    Flagged for staff rather than claimed twice; the claims of both matches wait for review.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    first = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="overlaps_as_first")
    second = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="overlaps_as_second")
    scan = models.ForeignKey(Scan, on_delete=models.PROTECT, related_name="reference_overlaps")
    overlap_s = models.FloatField(help_text="Seconds of the upload that matched both references.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    detected_at = models.DateTimeField(auto_now_add=True)
    deadline = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["status", "-detected_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["first", "second"],
                condition=models.Q(status="open"),
                name="reference_overlap_one_open_per_pair",
            ),
            models.CheckConstraint(condition=models.Q(first__lt=models.F("second")), name="reference_overlap_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.first} overlaps {self.second} ({self.overlap_s:.1f} s, {self.status})"


class UnclaimedMatch(models.Model):
    """A match (or work match) the rights engine decided not to claim, and why (a licensee on the allow-list,
    no owner, or no policy rule that applies anywhere). Keeps the periodic sweep from trying again."""

    class Why(models.TextChoices):
        LICENSED = "licensed", "The uploader holds a licence that covers the use"
        NO_RULE = "no_rule", "No policy rule of any owner applies"

    match = models.OneToOneField(Match, on_delete=models.PROTECT, null=True, blank=True, related_name="unclaimed")
    work_match = models.OneToOneField(
        WorkMatch, on_delete=models.PROTECT, null=True, blank=True, related_name="unclaimed"
    )
    why = models.CharField(max_length=16, choices=Why.choices)
    detail = models.TextField(blank=True)
    licence = models.ForeignKey("rights.Licence", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=_exactly_one("match", "work_match"), name="unclaimed_match_one_source")
        ]

    def __str__(self) -> str:
        what = f"Match {self.match_id}" if self.match_id is not None else f"Work match {self.work_match_id}"
        return f"{what} not claimed: {self.get_why_display()}"
