"""Statement exports: CSV, and DDEX DSR-shaped flat files, per party and run (streamed, any size).

Every exported amount traces back to its usage report line, claim, split and licence.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.text import slugify

from catalog.identifiers import format_isrc
from rights import royalties
from rights.models import RightsHolder, RoyaltyRun, Statement, StatementLine
from rights.runs import month_bounds

CSV_COLUMNS = [
    "run",
    "period",
    "party_id",
    "party",
    "kind",
    "hold",
    "source",
    "currency",
    "amount",
    "amount_minor",
    "usage_report",
    "usage_row",
    "isrc",
    "iswc",
    "title",
    "territory",
    "use",
    "quantity",
    "claim_id",
    "split_id",
    "share_percent",
    "licence",
    "dispute_id",
    "conflict_id",
]
_FIELDS = [
    "kind",
    "hold",
    "source",
    "currency",
    "amount_minor",
    "usage_line__report_id",
    "usage_line__row_number",
    "recording__isrc",
    "work__iswc",
    "recording__title",
    "usage_line__territory",
    "usage_line__use",
    "usage_line__quantity",
    "claim_id",
    "split_id",
    "licence__reference",
    "dispute_id",
    "conflict_id",
    "recording_id",
    "parties",
    "amounts",
    "shares",
]


@dataclass(frozen=True)
class Entry:
    """One amount of a statement: to one party (or held / returned / unallocated), with its trail."""

    party_id: int | None
    kind: str
    hold: str
    source: str
    currency: str
    amount_minor: int
    report: int | None
    row_number: int | None
    isrc: str | None
    iswc: str | None
    title: str | None
    territory: str | None
    use: str | None
    quantity: int | None
    claim: int | None
    split: int | None
    share: str | None
    licence: str | None
    dispute: int | None
    conflict: int | None
    recording: int | None


def entries(
    run: RoyaltyRun, party: RightsHolder | None = None, paid_only: bool = False, currency: str | None = None
) -> Iterator[Entry]:
    """The run's amounts one per party (a line shared over five parties gives five), in recording order;
    only those in `currency` when given (a statement is one party in one currency)."""
    qs = StatementLine.objects.filter(run=run)
    if currency is not None:
        qs = qs.filter(currency=currency)
    if paid_only or party is not None:
        qs = qs.filter(kind=StatementLine.Kind.PAID)
    if party is not None and connection.vendor == "postgresql":
        qs = qs.filter(parties__contains=[party.pk])
    for row in qs.order_by("recording_id", "pk").values_list(*_FIELDS).iterator(chunk_size=10000):
        *common, parties, amounts, shares = row
        kind, hold, source, currency, total = common[:5]
        trail = common[5:]
        if not parties:
            if not paid_only and party is None:
                yield _entry(None, kind, hold, source, currency, total, trail, None)
            continue
        for index, (who, amount) in enumerate(zip(parties, amounts, strict=True)):
            if (party is not None and who != party.pk) or (paid_only and who is None) or not amount:
                continue
            share = shares[index] if shares else None
            yield _entry(
                who, "paid" if who is not None else "unallocated", hold, source, currency, amount, trail, share
            )


def _entry(
    party: int | None,
    kind: str,
    hold: str,
    source: str,
    currency: str,
    amount: int,
    trail: list[Any],
    share: str | None,
) -> Entry:
    report, row_number, isrc, iswc, title, territory, use, quantity, claim, split, licence, dispute, conflict, rec = (
        trail
    )
    return Entry(
        party,
        kind,
        hold,
        source,
        currency,
        amount,
        report,
        row_number,
        isrc,
        iswc,
        title,
        territory,
        use,
        quantity,
        claim,
        split,
        share,
        licence,
        dispute,
        conflict,
        rec,
    )


def statement_file_stem(statement: Statement, with_currency: bool = True) -> str:
    """statement-2026-10-run12-harbour-records-EUR: the period, the run, the party (and the currency)."""
    party = slugify(statement.party.name) or f"party-{statement.party_id}"
    stem = f"statement-{statement.run.period:%Y-%m}-run{statement.run_id}-{party}"
    return f"{stem}-{statement.currency}" if with_currency else stem


def statement_csv(
    run: RoyaltyRun, party: RightsHolder | None = None, paid_only: bool = False, currency: str | None = None
) -> Iterator[str]:
    """The run's amounts (for one party, or all; in one currency, or all) as CSV text chunks: header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    period = f"{run.period:%Y-%m}"
    names: dict[int, str] = {}
    for count, e in enumerate(entries(run, party, paid_only, currency), start=1):
        if e.party_id is not None and e.party_id not in names:
            names.update(RightsHolder.objects.filter(pk=e.party_id).values_list("pk", "name"))
        writer.writerow(
            [
                run.pk,
                period,
                e.party_id or "",
                names.get(e.party_id, "") if e.party_id else "",
                e.kind,
                e.hold,
                e.source,
                e.currency,
                royalties.from_minor(e.amount_minor, e.currency),
                e.amount_minor,
                e.report or "",
                e.row_number or "",
                format_isrc(e.isrc) if e.isrc else "",
                e.iswc or "",
                e.title or "",
                e.territory or "",
                e.use or "",
                e.quantity if e.quantity is not None else "",
                e.claim or "",
                e.split or "",
                e.share or "",
                e.licence or "",
                e.dispute or "",
                e.conflict or "",
            ]
        )
        if count % 2000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def statement_dsr(run: RoyaltyRun, party: RightsHolder) -> Iterator[str]:
    """A party's paid amounts for a run as a DSR-shaped flat file (tab-separated; the record layout that
    rights.usage.import_dsr reads): HEAD, one SY01 per currency, an AS01 + SU01 block per recording, FOOT."""
    totals = {s.currency: [s.line_count, s.paid_minor] for s in run.statements.filter(party=party)}
    created = timezone.now().replace(microsecond=0).isoformat()
    yield (
        "\t".join(
            [
                "HEAD",
                "1.4",
                "BasicAudio",
                "1.0",
                f"STMT-{run.pk}-{party.pk}",
                created,
                run.period.isoformat(),
                month_bounds(run.period)[1].isoformat(),
                "CONTENTID",
                "Content ID rights engine",
                str(party.pk),
                party.name,
            ]
        )
        + "\n"
    )
    summary_ids = {}
    for index, (currency, (count, minor)) in enumerate(sorted(totals.items()), start=1):
        summary_ids[currency] = str(index)
        yield (
            "\t".join(
                [
                    "SY01",
                    str(index),
                    "Statement",
                    "",
                    "",
                    currency,
                    str(count),
                    str(royalties.from_minor(minor, currency)),
                ]
            )
            + "\n"
        )
    records, blocks, block, last_rec = len(totals), 0, "", object()
    for e in entries(run, party, paid_only=True):
        if e.recording != last_rec:
            blocks += 1
            block, last_rec = f"B{blocks}", e.recording
            if e.recording is not None:
                records += 1
                yield "\t".join(["AS01", block, f"R{e.recording}", e.isrc or "", e.title or "", "", ""]) + "\n"
        records += 1
        yield (
            "\t".join(
                [
                    "SU01",
                    block,
                    summary_ids[e.currency],
                    f"{e.report or ''}-{e.row_number or e.source}",
                    f"R{e.recording}" if e.recording is not None else "",
                    e.use or e.source,
                    e.territory or "",
                    str(e.quantity or 0),
                    str(royalties.from_minor(e.amount_minor, e.currency)),
                    "",
                    str(e.claim or ""),
                    e.licence or "",
                ]
            )
            + "\n"
        )
    yield "\t".join(["FOOT", str(records), str(len(totals)), str(blocks)]) + "\n"
