"""Ownership arithmetic as pure functions: where and when owners of one right assert more than 100 %.

No Django import. Dates are inclusive; an open end is None. Shares are percents (Decimal).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

HUNDRED = Decimal(100)
ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Stake:
    """One ownership row reduced to what the arithmetic needs (territories already expanded)."""

    id: int
    share: Decimal
    territories: frozenset[str]
    start: datetime.date
    end: datetime.date | None


@dataclass(frozen=True)
class Conflict:
    """Some territories over some dates where the listed ownerships add up to more than 100 %."""

    ownership_ids: tuple[int, ...]
    territories: frozenset[str]
    start: datetime.date
    end: datetime.date | None
    total: Decimal
    conflicted: Decimal


def conflicted_share(shares: Sequence[Decimal]) -> Decimal:
    """The percent of income nobody can be paid until the conflict is resolved.

    Owner i is undisputedly entitled to what the others leave, max(0, 100 - sum of the others);
    everything beyond the undisputed parts is conflicted. Two owners asserting 70 % and 60 % leave
    40 % and 30 % undisputed, so 30 % is conflicted; two asserting 100 % each leave nothing undisputed.
    """
    total = sum(shares, Decimal(0))
    if total <= HUNDRED:
        return Decimal(0)
    undisputed = sum((max(Decimal(0), HUNDRED - (total - s)) for s in shares), Decimal(0))
    return HUNDRED - undisputed


def _boundaries(stakes: Sequence[Stake]) -> list[datetime.date]:
    points = {s.start for s in stakes} | {s.end + ONE_DAY for s in stakes if s.end is not None}
    return sorted(points)


def find_conflicts(stakes: Sequence[Stake]) -> list[Conflict]:
    """Every (territories, date range) where the stakes of one right in one asset exceed 100 %.

    Territories with the same set of overlapping stakes are grouped; consecutive date segments with
    the same stakes and territories are merged. The result is sorted (start date, ownership ids).
    """
    points = _boundaries(stakes)
    pieces: list[Conflict] = []
    for index, seg_start in enumerate(points):
        seg_end = points[index + 1] - ONE_DAY if index + 1 < len(points) else None
        live = [s for s in stakes if s.start <= seg_start and (s.end is None or s.end >= seg_start)]
        if sum((s.share for s in live), Decimal(0)) <= HUNDRED:
            continue  # even if every stake covered one territory, no conflict in this segment
        by_territory: dict[str, list[Stake]] = {}
        for stake in live:
            for code in stake.territories:
                by_territory.setdefault(code, []).append(stake)
        groups: dict[tuple[int, ...], set[str]] = {}
        for code, holders in by_territory.items():
            if sum((s.share for s in holders), Decimal(0)) > HUNDRED:
                groups.setdefault(tuple(sorted(s.id for s in holders)), set()).add(code)
        for ids, codes in groups.items():
            shares = [s.share for s in live if s.id in ids]
            pieces.append(
                Conflict(ids, frozenset(codes), seg_start, seg_end, sum(shares, Decimal(0)), conflicted_share(shares))
            )
    return _merge_consecutive(pieces)


def _merge_consecutive(pieces: list[Conflict]) -> list[Conflict]:
    merged: list[Conflict] = []
    for piece in sorted(pieces, key=lambda c: (c.ownership_ids, sorted(c.territories), c.start)):
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.ownership_ids == piece.ownership_ids
            and last.territories == piece.territories
            and last.end is not None
            and last.end + ONE_DAY == piece.start
        ):
            merged[-1] = Conflict(
                last.ownership_ids, last.territories, last.start, piece.end, last.total, last.conflicted
            )
        else:
            merged.append(piece)
    return sorted(merged, key=lambda c: (c.start, c.ownership_ids))
