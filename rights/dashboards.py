"""The numbers behind the staff and auditor pages: charts' data and a run's totals, for one viewer.

Plain query functions returning plain data (rights.charts draws it). Every row comes from the scopes of
rights.roles, so a chart or a total never counts what its viewer may not read. Money stays in integer
minor units, per currency (amounts in different currencies are never added together).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Floor, TruncDate
from django.utils import timezone

from fingerprint.models import Match
from rights import roles
from rights.models import Claim, RoyaltyRun, Statement, StatementLine

CLAIM_STATES = list(Claim.Status.choices)
KINDS = [kind for kind, _ in StatementLine.Kind.choices]


@dataclass(frozen=True)
class DailyClaims:
    """Claims created on each day, by the state each claim is in now."""

    days: list[datetime.date]
    counts: dict[str, list[int]]  # state -> one count per day (every state of Claim.Status, in order)

    @property
    def total(self) -> int:
        return sum(sum(values) for values in self.counts.values())


@dataclass(frozen=True)
class ConfidenceBins:
    """Claims by the confidence of their match: bin i holds edges[i] <= confidence < edges[i + 1] (1.0 in the last)."""

    edges: list[Decimal]
    counts: list[int]


@dataclass(frozen=True)
class RecordingMatches:
    recording_id: int
    title: str
    isrc: str
    matches: int


@dataclass(frozen=True)
class PartyAmount:
    party_id: int
    name: str
    minor: int


def visible_claims(viewer: roles.Viewer) -> QuerySet[Claim]:
    """The viewer's claims, without the DISTINCT of the scope (so they can be grouped and counted)."""
    return Claim.objects.filter(pk__in=roles.claims_for(viewer).values("pk"))


def visible_statements(viewer: roles.Viewer) -> QuerySet[Statement]:
    """The viewer's statements, without the DISTINCT of the scope (so they can be summed)."""
    return Statement.objects.filter(pk__in=roles.statements_for(viewer).values("pk"))


def visible_lines(viewer: roles.Viewer) -> QuerySet[StatementLine]:
    """Statement lines about the viewer's recordings or works: held and returned lines pay nobody, so they are
    scoped by what they are about. Every line for a viewer of all labels."""
    if viewer.all_labels:
        return StatementLine.objects.all()
    return StatementLine.objects.filter(
        Q(recording_id__in=roles.recordings_for(viewer).values("pk"))
        | Q(recording_id__isnull=True, work_id__in=roles.works_for(viewer).values("pk"))
    )


def claims_per_day(viewer: roles.Viewer, days: int = 30, today: datetime.date | None = None) -> DailyClaims:
    """The viewer's claims created on each of the last `days` days (today included), by their state now."""
    today = today or timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    since = timezone.make_aware(datetime.datetime.combine(first, datetime.time()))
    day_list = [first + datetime.timedelta(days=n) for n in range(days)]
    index = {day: n for n, day in enumerate(day_list)}
    counts = {state: [0] * days for state, _ in CLAIM_STATES}
    grouped = (
        visible_claims(viewer)
        .filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("day", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for day, status, n in grouped:
        if day in index and status in counts:
            counts[status][index[day]] += n
    return DailyClaims(day_list, counts)


def confidence_histogram(viewer: roles.Viewer, bins: int = 10) -> ConfidenceBins:
    """The viewer's claims by their match's (or work match's) confidence (0..1), in `bins` equal bins."""
    counts = [0] * bins
    grouped = (
        visible_claims(viewer)
        .annotate(bin=Floor(Coalesce(F("match__confidence"), F("work_match__confidence")) * bins))
        .values_list("bin")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for value, n in grouped:
        if value is None:
            continue
        counts[min(max(int(value), 0), bins - 1)] += n  # a confidence of exactly 1.0 goes to the last bin
    step = Decimal("0.1") if 10 % bins == 0 else Decimal("0.01")  # 0.0 0.1 ... 1.0 for ten bins
    return ConfidenceBins([(Decimal(n) / bins).quantize(step) for n in range(bins + 1)], counts)


def top_matched_recordings(viewer: roles.Viewer, limit: int = 10) -> list[RecordingMatches]:
    """The viewer's recordings heard in the most uploads (matches), most first."""
    rows = (
        Match.objects.filter(recording_id__in=roles.recordings_for(viewer).values("pk"))
        .values_list("recording_id", "recording__title", "recording__isrc")
        .annotate(n=Count("pk"))
        .order_by("-n", "recording__title", "recording_id")[:limit]
    )
    return [RecordingMatches(pk, title, isrc or "", n) for pk, title, isrc, n in rows]


def royalties_by_party(viewer: roles.Viewer, run: RoyaltyRun | None, limit: int = 12) -> dict[str, list[PartyAmount]]:
    """Per currency, what the run's statements the viewer may read paid each party, largest first."""
    if run is None:
        return {}
    found: dict[str, list[PartyAmount]] = defaultdict(list)
    rows = (
        visible_statements(viewer)
        .filter(run=run)
        .values_list("currency", "party_id", "party__name")
        .annotate(total=Sum("paid_minor"))
        .order_by("currency", "-total", "party__name")
    )
    for currency, party_id, name, total in rows:
        if len(found[currency]) < limit:
            found[currency].append(PartyAmount(party_id, name, int(total)))
    return dict(found)


def visible_run_totals(viewer: roles.Viewer, runs: Iterable[RoyaltyRun]) -> dict[int, dict[str, dict[str, int]]]:
    """Per run, per currency, minor units per kind (paid, held, returned, unallocated) that the viewer may read.

    Paid money is the sum of the viewer's statements; held and returned money the sum of the lines about their
    recordings and works. Only a viewer of every label gets the run's own totals (which include everyone's).
    """
    runs = list(runs)
    found: dict[int, dict[str, dict[str, int]]] = {run.pk: {} for run in runs}
    if viewer.all_labels:
        for run in runs:
            found[run.pk] = {
                currency: {kind: int(kinds.get(kind, 0)) for kind in KINDS}
                for currency, kinds in sorted(run.totals.items())
                if currency != "findings" and isinstance(kinds, dict)
            }
        return found
    run_ids = [run.pk for run in runs]

    def cell(run_id: int, currency: str) -> dict[str, int]:
        return found[run_id].setdefault(currency, dict.fromkeys(KINDS, 0))

    paid = (
        visible_statements(viewer)
        .filter(run_id__in=run_ids)
        .values_list("run_id", "currency")
        .annotate(total=Sum("paid_minor"))
        .order_by()
    )
    for run_id, currency, total in paid:
        cell(run_id, currency)[StatementLine.Kind.PAID] += int(total or 0)
    unpaid = (
        visible_lines(viewer)
        .filter(run_id__in=run_ids, kind__in=[StatementLine.Kind.HELD, StatementLine.Kind.RETURNED])
        .values_list("run_id", "currency", "kind")
        .annotate(total=Sum("amount_minor"))
        .order_by()
    )
    for run_id, currency, kind, total in unpaid:
        cell(run_id, currency)[kind] += int(total or 0)
    for run_id in found:
        found[run_id] = dict(sorted(found[run_id].items()))
    return found


def visible_holds(viewer: roles.Viewer, run: RoyaltyRun) -> list[tuple[str, str, str, int, int]]:
    """The run's held and returned money about the viewer's recordings and works, per currency, kind and hold
    reason: (currency, kind, hold, lines, minor units)."""
    rows = (
        visible_lines(viewer)
        .filter(run=run, kind__in=[StatementLine.Kind.HELD, StatementLine.Kind.RETURNED])
        .values_list("currency", "kind", "hold")
        .annotate(lines=Count("pk"), total=Sum("amount_minor"))
        .order_by("currency", "kind", "hold")
    )
    return [(currency, kind, hold, lines, int(total or 0)) for currency, kind, hold, lines, total in rows]
