"""The one answer to "is this use by this licensee of this recording, here, now, licensed?", and the
licence verbs. Every caller (claims' allow-list, royalty runs, AI services) asks `is_licensed`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from catalog.identifiers import normalize_territory
from catalog.models import Artist, Recording, Work, consents_to
from rights import licensing_terms
from rights.audit import acting_as
from rights.models import Licence, RightsHolder, UsageLine


@dataclass(frozen=True)
class LicenceCheck:
    """The answer: licensed or not, the licence that covers the use, and why each candidate refused."""

    licensed: bool
    licence: Licence | None
    reason: str
    refusals: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return self.licensed


def _day(at: datetime.date | datetime.datetime | None) -> datetime.date:
    if at is None:
        return timezone.localdate()
    if isinstance(at, datetime.datetime):
        return timezone.localtime(at).date() if timezone.is_aware(at) else at.date()
    return at


def covering(
    licensee: RightsHolder | int,
    *,
    recording: Recording | None = None,
    work: Work | None = None,
    artist: Artist | None = None,
) -> QuerySet[Licence]:
    """Licences held by `licensee` that name the recording (directly, or through a catalogue slice: its
    label or one of its releases), the work, or the artist (for likeness). Terms are not checked here."""
    if sum(x is not None for x in (recording, work, artist)) != 1:
        raise ValueError("name exactly one of recording, work or artist")
    if artist is not None:
        covers = Q(artists=artist)
    elif recording is not None:
        covers = Q(recordings=recording) | Q(catalogue_releases__recordings=recording)
        if recording.label_id is not None:
            covers |= Q(catalogue_labels=recording.label_id)
    else:
        covers = Q(works=work)
    holder_id = licensee.pk if isinstance(licensee, RightsHolder) else licensee
    ids = Licence.objects.filter(covers, licensee_id=holder_id).values("pk")
    return Licence.objects.filter(pk__in=ids).select_related("licensor", "licensee").order_by("start_date", "pk")


def uses_this_month(licence: Licence, day: datetime.date) -> int:
    """Uses reported under the licence in the calendar month of `day` (for the licence's cap)."""
    month = day.replace(day=1)
    total = (
        UsageLine.objects.filter(licence=licence, report__period_start__gte=month)
        .filter(report__period_start__lt=(month + datetime.timedelta(days=32)).replace(day=1))
        .aggregate(n=Sum("quantity"))["n"]
    )
    return int(total or 0)


def is_licensed(
    licensee: RightsHolder | int | None,
    use: str,
    territory: str,
    at: datetime.date | datetime.datetime | None = None,
    *,
    recording: Recording | None = None,
    work: Work | None = None,
    artist: Artist | None = None,
) -> LicenceCheck:
    """Whether `licensee` may make `use` of the recording (or work, or an artist's likeness) in
    `territory` at `at` (default: now).

    Licensed when one of the licensee's licences names the asset (or a catalogue slice holding it),
    grants the use, covers the territory, is in its term and not revoked, and has not used its
    monthly cap. An AI-likeness use also needs the artist's consent to it now (catalog.ArtistAIConsent):
    an artist who opts out ends every licence's cover at once. An unlicensed answer says why, so
    callers record a finding instead of allowing it.
    """
    if use not in licensing_terms.USES:
        raise ValueError(f"unknown use {use!r}; uses are {', '.join(licensing_terms.USES)}")
    aspect = licensing_terms.likeness_aspect(use)
    if bool(aspect) != (artist is not None):
        raise ValueError("AI-likeness uses are asked of an artist, and an artist only of AI-likeness uses")
    territory = normalize_territory(territory)
    day = _day(at)
    if licensee is None:
        return LicenceCheck(False, None, "no licensee: an anonymous use is never licensed")
    if artist is not None and not consents_to(artist, aspect):
        return LicenceCheck(False, None, f"{artist} has not opted in to AI likeness use '{aspect}'")
    refusals = []
    for licence in covering(licensee, recording=recording, work=work, artist=artist):
        used = uses_this_month(licence, day) if licence.cap_uses is not None else 0
        why = licensing_terms.refusal(licence.terms(), use, territory, day, used)
        if not why:
            return LicenceCheck(True, licence, f"licence {licence.reference} covers {use} in {territory} on {day}")
        refusals.append(f"licence {licence.reference} {why}")
    if not refusals:
        asset = recording or work or artist
        return LicenceCheck(False, None, f"no licence of this licensee covers {asset}")
    return LicenceCheck(False, None, "; ".join(refusals), tuple(refusals))


def licensed_territories(
    licensee: RightsHolder | int,
    use: str,
    day: datetime.date,
    *,
    recording: Recording | None = None,
    work: Work | None = None,
    artist: Artist | None = None,
) -> tuple[frozenset[str], list[Licence]]:
    """Every territory where `is_licensed` would say yes for this use on `day`, and the licences that
    grant them (for the allow-list, which needs all territories at once). An AI-likeness use the
    artist has not opted in to is licensed nowhere."""
    from rights import territories as territory_lists

    aspect = licensing_terms.likeness_aspect(use)
    if artist is not None and not consents_to(artist, aspect):
        return frozenset(), []
    granted: set[str] = set()
    used: list[Licence] = []
    for licence in covering(licensee, recording=recording, work=work, artist=artist):
        terms = licence.terms()
        count = uses_this_month(licence, day) if licence.cap_uses is not None else 0
        probe = next(iter(territory_lists.expand(terms.territories, terms.excluded_territories)), None)
        if probe is None or licensing_terms.refusal(terms, use, probe, day, count):
            continue
        granted |= territory_lists.expand(terms.territories, terms.excluded_territories)
        used.append(licence)
    return frozenset(granted), used


def parties_of(user: Any) -> list[RightsHolder]:
    """The parties a login acts for."""
    if user is None or not getattr(user, "pk", None):
        return []
    return list(RightsHolder.objects.filter(accounts=user).order_by("pk"))


def grant_licence(
    *,
    actor: Any = None,
    recordings: list[Recording] = (),
    works: list[Work] = (),  # type: ignore[assignment]
    catalogue_labels: list[Any] = (),
    catalogue_releases: list[Any] = (),  # type: ignore[assignment]
    artists: list[Artist] = (),  # type: ignore[assignment]
    **fields: Any,
) -> Licence:
    """Create a licence (validated) with what it covers (artists: for the AI-likeness uses); audited as
    `actor`."""
    with acting_as(actor), transaction.atomic():
        licence = Licence(**fields)
        licence.full_clean()
        licence.save()
        if recordings:
            licence.recordings.add(*recordings)
        if works:
            licence.works.add(*works)
        if catalogue_labels:
            licence.catalogue_labels.add(*catalogue_labels)
        if catalogue_releases:
            licence.catalogue_releases.add(*catalogue_releases)
        if artists:
            licence.artists.add(*artists)
    return licence


def revoke_licence(licence: Licence, on: datetime.date, actor: Any = None) -> Licence:
    """Terminate a licence early: not valid from `on`."""
    with acting_as(actor), transaction.atomic():
        licence.revoked_at = on
        licence.save(update_fields=["revoked_at"])
    return licence
