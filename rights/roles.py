"""Who a logged-in user is to the system, and what each role may see.

One user can hold several roles at once (a label employee who is also a credited writer). Roles come
from data, never from flags set by hand in code:

- **label staff**: `is_staff` and an account of a label's (or publisher's) party; acts for those labels
  only. A superuser is staff of every label.
- **artist**: an account of an artist's or writer's party; sees only works and recordings they are
  credited on, their splits, the claims on them and their own statements.
- **platform**: a member of an API platform; sees only its own uploads and the claims on them.
- **auditor**: a user a label granted access to (`AuditorGrant`, not expired); reads everything of
  those labels and writes nothing.

Every page, download and API endpoint takes its rows from the `*_for(viewer)` functions below, so a
scope is written once.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.models import Label, Recording, Work
from fingerprint.models import Platform, Scan
from rights.models import AuditorGrant, Claim, Licence, Policy, RightsHolder, RoyaltyRun, Split, Statement, UsageReport

STAFF, ARTIST, PLATFORM, AUDITOR = "staff", "artist", "platform", "auditor"
ROLE_NAMES = {STAFF: "Label staff", ARTIST: "Artist", PLATFORM: "Platform", AUDITOR: "Auditor"}

_LABEL_KINDS = (RightsHolder.Kind.LABEL, RightsHolder.Kind.PUBLISHER)
_ARTIST_KINDS = (RightsHolder.Kind.ARTIST, RightsHolder.Kind.WRITER)


@dataclass(frozen=True)
class Viewer:
    """The roles of one user and the ids that bound what each role sees."""

    user: Any
    all_labels: bool = False
    staff_labels: frozenset[int] = field(default_factory=frozenset)
    artists: frozenset[int] = field(default_factory=frozenset)
    parties: frozenset[int] = field(default_factory=frozenset)
    platforms: frozenset[int] = field(default_factory=frozenset)
    audited_labels: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        return self.all_labels or bool(self.staff_labels)

    @property
    def is_artist(self) -> bool:
        return bool(self.artists)

    @property
    def is_platform(self) -> bool:
        return bool(self.platforms)

    @property
    def is_auditor(self) -> bool:
        return bool(self.audited_labels)

    @property
    def roles(self) -> list[str]:
        flags = {STAFF: self.is_staff, ARTIST: self.is_artist, PLATFORM: self.is_platform, AUDITOR: self.is_auditor}
        return [role for role, held in flags.items() if held]

    def has(self, role: str) -> bool:
        return role in self.roles

    def label_filter(self, path: str = "label") -> Q:
        """Rows whose `path` is one of the labels staff act for (every label for a superuser)."""
        return Q() if self.all_labels else Q(**{f"{path}__in": self.staff_labels})


def viewer_for(user: Any, today: datetime.date | None = None) -> Viewer:
    """Read the roles of `user` from the database (an anonymous user has none)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Viewer(user=user)
    today = today or timezone.localdate()
    holders = list(RightsHolder.objects.filter(accounts=user).values_list("pk", "kind", "label_id", "artist_id"))
    staff_labels = {label for _, kind, label, _ in holders if kind in _LABEL_KINDS and label}
    if not user.is_staff:  # a label's account without staff status is not its staff (e.g. a bot)
        staff_labels = set()
    grants = AuditorGrant.objects.filter(user=user).filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
    return Viewer(
        user=user,
        all_labels=bool(user.is_superuser),
        staff_labels=frozenset(staff_labels),
        artists=frozenset(artist for _, kind, _, artist in holders if kind in _ARTIST_KINDS and artist),
        parties=frozenset(pk for pk, *_ in holders),
        platforms=frozenset(Platform.objects.filter(members=user).values_list("pk", flat=True)),
        audited_labels=frozenset(grants.values_list("label_id", flat=True)),
    )


# --- scopes: what each role reads --------------------------------------------------------------------


def _readable_labels(viewer: Viewer) -> Q | None:
    """Labels whose data the viewer reads as staff or auditor (None: every label)."""
    if viewer.all_labels:
        return None
    return Q(pk__in=viewer.staff_labels | viewer.audited_labels)


def labels_for(viewer: Viewer) -> QuerySet[Label]:
    scope = _readable_labels(viewer)
    return Label.objects.all() if scope is None else Label.objects.filter(scope)


def _label_or_credit(viewer: Viewer, label_path: str, artist_path: str) -> Q:
    """Rows of a readable label, or credited to one of the viewer's artists."""
    if viewer.all_labels:
        return Q()
    labels = viewer.staff_labels | viewer.audited_labels
    q = Q(pk__in=[])
    if labels:
        q |= Q(**{f"{label_path}__in": labels})
    if viewer.artists:
        q |= Q(**{f"{artist_path}__in": viewer.artists})
    return q


def recordings_for(viewer: Viewer) -> QuerySet[Recording]:
    return Recording.objects.filter(_label_or_credit(viewer, "label", "artists")).distinct()


def works_for(viewer: Viewer) -> QuerySet[Work]:
    """Works of a readable label's recordings, or written by (or recorded by) the viewer's artists."""
    if viewer.all_labels:
        return Work.objects.all()
    labels = viewer.staff_labels | viewer.audited_labels
    q = Q(pk__in=[])
    if labels:
        q |= Q(recordings__label__in=labels)
    if viewer.artists:
        q |= Q(writers__in=viewer.artists) | Q(recordings__artists__in=viewer.artists)
    return Work.objects.filter(q).distinct()


def claims_for(viewer: Viewer) -> QuerySet[Claim]:
    """Claims of readable labels, on the viewer's artists' recordings or works they wrote (melody claims),
    made by or against their parties, or on their platforms' uploads."""
    if viewer.all_labels:
        return Claim.objects.all()
    q = _label_or_credit(viewer, "label", "recording__artists")
    if viewer.artists:
        q |= Q(work__writers__in=viewer.artists)
    if viewer.parties:
        q |= Q(claimant__in=viewer.parties) | Q(uploader__in=viewer.parties)
    if viewer.platforms:
        q |= Claim.on_scans(platform__in=viewer.platforms)
    return Claim.objects.filter(q).distinct()


def claims_to_review(viewer: Viewer) -> QuerySet[Claim]:
    """Claims label staff may decide: those of the labels they act for."""
    if not viewer.is_staff:
        return Claim.objects.none()
    return Claim.objects.filter(viewer.label_filter())


def scans_for(viewer: Viewer) -> QuerySet[Scan]:
    """Uploads: a platform's own; staff and auditors see those claimed by or matching their labels."""
    if viewer.all_labels:
        return Scan.objects.all()
    q = Q(pk__in=[])
    if viewer.platforms:
        q |= Q(platform__in=viewer.platforms)
    labels = viewer.staff_labels | viewer.audited_labels
    if labels:
        q |= Q(matches__recording__label__in=labels)
    return Scan.objects.filter(q).distinct()


def splits_for(viewer: Viewer) -> QuerySet[Split]:
    if viewer.all_labels:
        return Split.objects.all()
    labels = viewer.staff_labels | viewer.audited_labels
    q = Q(pk__in=[])
    if labels:
        q |= Q(recording__label__in=labels) | Q(work__recordings__label__in=labels)
    if viewer.parties:
        q |= Q(shares__party__in=viewer.parties)
    if viewer.artists:
        q |= Q(recording__artists__in=viewer.artists) | Q(work__writers__in=viewer.artists)
    return Split.objects.filter(q).distinct()


def statements_for(viewer: Viewer) -> QuerySet[Statement]:
    """A party's own statements; staff and auditors those of their labels' parties and artists."""
    if viewer.all_labels:
        return Statement.objects.all()
    labels = viewer.staff_labels | viewer.audited_labels
    q = Q(pk__in=[])
    if viewer.parties:
        q |= Q(party__in=viewer.parties)
    if labels:
        q |= Q(party__label__in=labels) | Q(party__artist__label__in=labels)
    return Statement.objects.filter(q).distinct()


def runs_for(viewer: Viewer) -> QuerySet[RoyaltyRun]:
    """Royalty runs in which the viewer can read at least one statement (staff and auditors: every run)."""
    if viewer.all_labels or viewer.staff_labels or viewer.audited_labels:
        return RoyaltyRun.objects.all()
    return RoyaltyRun.objects.filter(statements__in=statements_for(viewer)).distinct()


def parties_for(viewer: Viewer) -> QuerySet[RightsHolder]:
    """Parties the viewer may name in splits or read statements of."""
    if viewer.all_labels:
        return RightsHolder.objects.all()
    labels = viewer.staff_labels | viewer.audited_labels
    q = Q(pk__in=viewer.parties)
    if labels:
        q |= Q(label__in=labels) | Q(artist__label__in=labels)
    return RightsHolder.objects.filter(q).distinct()


def policies_for(viewer: Viewer) -> QuerySet[Policy]:
    """Match policies of readable labels and of the viewer's own parties (plus the default policy, which
    applies to everyone and is no secret)."""
    if viewer.all_labels:
        return Policy.objects.all()
    labels = viewer.staff_labels | viewer.audited_labels
    return Policy.objects.filter(
        Q(label__in=labels) | Q(owner__in=viewer.parties) | Q(label__isnull=True, owner__isnull=True)
    ).distinct()


def licences_for(viewer: Viewer) -> QuerySet[Licence]:
    """Licences the viewer's parties granted or hold, and those granted by readable labels' parties."""
    if viewer.all_labels:
        return Licence.objects.all()
    labels = viewer.staff_labels | viewer.audited_labels
    q = Q(licensor__in=viewer.parties) | Q(licensee__in=viewer.parties)
    if labels:
        q |= Q(licensor__label__in=labels) | Q(licensor__artist__label__in=labels)
    if viewer.platforms:
        q |= Q(licensee__platform__in=viewer.platforms)
    return Licence.objects.filter(q).distinct()


def usage_reports_for(viewer: Viewer) -> QuerySet[UsageReport]:
    """A platform's own reports; staff and auditors every report with a line on their labels' catalogue."""
    if viewer.all_labels:
        return UsageReport.objects.all()
    q = Q(platform__platform__in=viewer.platforms) | Q(platform__in=viewer.parties)
    labels = viewer.staff_labels | viewer.audited_labels
    if labels:
        q |= Q(pk__in=UsageReport.objects.filter(lines__recording__label__in=labels).values("pk"))
    return UsageReport.objects.filter(q).distinct()


def may_edit_asset(viewer: Viewer, *, recording: Recording | None = None, work: Work | None = None) -> bool:
    """Whether the viewer may change splits of this recording or work: staff of its label, or an artist
    credited on it (auditors and platforms never)."""
    if viewer.all_labels:
        return True
    if recording is not None:
        if recording.label_id in viewer.staff_labels:
            return True
        return bool(viewer.artists) and recording.artists.filter(pk__in=viewer.artists).exists()
    if work is not None:
        if viewer.staff_labels and work.recordings.filter(label__in=viewer.staff_labels).exists():
            return True
        if not viewer.artists:
            return False
        return (
            work.writers.filter(pk__in=viewer.artists).exists()
            or work.recordings.filter(artists__in=viewer.artists).exists()
        )
    return False
