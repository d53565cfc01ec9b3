"""Split verbs: record how an income stream is shared, validated to exactly 100 %; find the split that applies."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q

from catalog.identifiers import IdentifierError
from catalog.models import Recording, Work
from rights import territories as territory_lists
from rights.audit import acting_as
from rights.models import RightsHolder, Split, SplitShare

HUNDRED = Decimal(100)


class SplitError(ValueError):
    """A split was refused; the message says which rule it broke."""


def _dates_overlap(
    a_start: datetime.date | None,
    a_end: datetime.date | None,
    b_start: datetime.date | None,
    b_end: datetime.date | None,
) -> bool:
    lo = datetime.date.min
    hi = datetime.date.max
    return (a_start or lo) <= (b_end or hi) and (b_start or lo) <= (a_end or hi)


def validate_shares(
    shares: Sequence[tuple[RightsHolder, Decimal | str, str]],
) -> list[tuple[RightsHolder, Decimal, str]]:
    """Decimal shares, each above 0 with at most 4 decimals, one per party, summing to exactly 100."""
    if not shares:
        raise SplitError("A split needs at least one party.")
    clean = []
    seen = set()
    for party, raw, role in shares:
        try:
            share = Decimal(str(raw))
        except InvalidOperation:
            raise SplitError(f"{party.name}: {raw!r} is not a number.") from None
        if share <= 0:
            raise SplitError(f"{party.name}: a share must be above 0 % (got {share}).")
        if share != share.quantize(Decimal("0.0001")):
            raise SplitError(f"{party.name}: at most 4 decimals (got {share}).")
        if party.pk in seen:
            raise SplitError(f"{party.name} appears twice: give one share per party.")
        seen.add(party.pk)
        clean.append((party, share, role))
    total = sum((s for _, s, _ in clean), Decimal(0))
    if total != HUNDRED:
        over = "over" if total > HUNDRED else "under"
        raise SplitError(f"Shares sum to {total.normalize():f} %, {over} 100 %: they must sum to exactly 100 %.")
    return clean


def set_split(
    *,
    shares: Sequence[tuple[RightsHolder, Decimal | str, str]],
    recording: Recording | None = None,
    work: Work | None = None,
    territories: Sequence[str] = (),
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
    note: str = "",
    actor: Any = None,
) -> Split:
    """Record a split of the master (recording) or publishing (work) income. Refused, with nothing
    written, unless the shares sum to exactly 100 % and no other split of the same asset covers the
    same territories (or also everywhere) over overlapping dates."""
    if (recording is None) == (work is None):
        raise SplitError("Name either a recording (master) or a work (publishing).")
    try:
        codes = territory_lists.normalize_list(territories) if territories else []
    except IdentifierError as exc:
        raise SplitError(str(exc)) from None
    if end_date and start_date and end_date < start_date:
        raise SplitError("The split cannot end before it starts.")
    clean = validate_shares(shares)
    stream = Split.Stream.MASTER if recording is not None else Split.Stream.PUBLISHING
    asset = Q(recording=recording) if recording is not None else Q(work=work)
    mine = territory_lists.expand(codes) if codes else None
    for other in Split.objects.filter(asset, stream=stream):
        if not _dates_overlap(start_date, end_date, other.start_date, other.end_date):
            continue
        theirs = territory_lists.expand(other.territories) if other.territories else None
        if (mine is None and theirs is None) or (mine is not None and theirs is not None and mine & theirs):
            raise SplitError(f"It overlaps split {other.pk} ({other}) in territories and dates: end that one first.")
    with acting_as(actor), transaction.atomic():
        split = Split.objects.create(
            recording=recording,
            work=work,
            stream=stream,
            territories=codes,
            start_date=start_date,
            end_date=end_date,
            note=note,
        )
        for party, share, role in clean:
            SplitShare.objects.create(split=split, party=party, share=share, role=role)
    return split


def end_split(split: Split, end_date: datetime.date, actor: Any = None) -> Split:
    """Close a split (a new one may start the next day)."""
    with acting_as(actor), transaction.atomic():
        split.end_date = end_date
        split.save(update_fields=["end_date"])
    return split


def pick(candidates: Sequence[Any], territory: str, day: datetime.date) -> Any | None:
    """The split among `candidates` (objects with territories/start_date/end_date) that applies: one
    naming the territory before one for everywhere, then the latest start."""
    live = [
        s
        for s in candidates
        if (s.start_date is None or s.start_date <= day)
        and (s.end_date is None or day <= s.end_date)
        and (not s.territories or territory in territory_lists.expand(s.territories))
    ]
    if not live:
        return None
    return max(live, key=lambda s: (bool(s.territories), s.start_date or datetime.date.min, s.pk))


def split_for(
    *, recording: Recording | None = None, work: Work | None = None, territory: str, day: datetime.date
) -> Split | None:
    """The split that shares this asset's income in `territory` on `day`, if any."""
    qs = Split.objects.filter(recording=recording) if recording is not None else Split.objects.filter(work=work)
    return pick(list(qs.prefetch_related("shares__party")), territory, day)
