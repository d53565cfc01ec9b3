"""Usage report import: CSV and DDEX DSR flat files, all or nothing, with row-level errors.

The whole file is checked; if any row is wrong, nothing is imported and UsageImportError lists the
problems with their line numbers (1-based, as an editor shows them). Rows are read and written in
batches, so a large file needs little memory.

CSV (comma-separated, header row): isrc or iswc, territory, quantity, amount; optional use,
stream (master/publishing), user, claim_id, licence (a licence reference).

DSR (tab-separated, DSR-shaped: the record types and block structure of DDEX DSR Part 1, with the
cells this engine reads, for the BasicAudio and UGC profiles):
    HEAD  MessageVersion Profile ProfileVersion MessageId Created StartOfPeriod EndOfPeriod SenderId SenderName
    SY01  SummaryRecordId CommercialModel UseType Territory Currency TotalUsages TotalNetRevenue
    RE01  BlockId ReleaseReference ICPN Title DisplayArtist                    (optional)
    AS01  BlockId ResourceReference ISRC Title DisplayArtist Duration
    MW01  BlockId ResourceReference ISWC Title                                  (optional)
    SU01  BlockId SummaryRecordId TransactionId ResourceReference UseType Territory Usages NetRevenue
          [UserId] [ClaimId] [LicenceReference]     (ClaimId: UGC profile)
    FOOT  NumberOfRecordsInReport NumberOfSummaryRecords NumberOfBlocks
Lines starting with '#' are comments.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction

from catalog.identifiers import IdentifierError, normalize_isrc, normalize_iswc, normalize_territory
from catalog.models import Recording, Work
from rights import licensing_terms, royalties
from rights.models import Claim, Licence, RightsHolder, UsageLine, UsageReport

BATCH = 5000
MAX_ERRORS = 200
DSR_PROFILES = {"basicaudio": "BasicAudio", "basicaudioprofile": "BasicAudio", "ugc": "UGC", "ugcprofile": "UGC"}


class UsageImportError(ValueError):
    """The report was refused; `errors` are (line number, message), in file order."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        shown = "; ".join(f"line {n}: {m}" if n else m for n, m in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(f"Nothing imported: {len(errors)} problem(s): {shown}{more}")


class DuplicateReportError(UsageImportError):
    """The same file (by content) was imported before: nothing is imported again."""


def _read(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, ""
    path = Path(source)
    return path.read_bytes(), path.name


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{what} {text!r} is not a number")
    return value


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"amount must not be negative (got {value}); report refunds as their own adjustment")
    return value


def _count(text: str, what: str) -> int:
    value = _decimal(text or "0", what)
    if value < 0 or value != value.to_integral_value():
        raise ValueError(f"{what} must be a whole number >= 0; got {text!r}")
    return int(value)


@dataclass
class _Catalogue:
    """Look-ups the rows need, loaded once (catalogue-sized, not file-sized)."""

    recordings: dict[str, int] = field(default_factory=dict)
    works: dict[str, int] = field(default_factory=dict)
    licences: dict[str, int] = field(default_factory=dict)
    claims: dict[int, bool] = field(default_factory=dict)

    @classmethod
    def load(cls) -> _Catalogue:
        return cls(
            recordings=dict(Recording.objects.exclude(isrc=None).values_list("isrc", "pk")),  # type: ignore[arg-type]
            works=dict(Work.objects.exclude(iswc=None).values_list("iswc", "pk")),  # type: ignore[arg-type]
            licences=dict(Licence.objects.values_list("reference", "pk")),
        )

    def recording(self, isrc: str) -> int:
        code = normalize_isrc(isrc)
        if code not in self.recordings:
            raise ValueError(f"ISRC {code} is not in the catalogue")
        return self.recordings[code]

    def work(self, iswc: str) -> int:
        code = normalize_iswc(iswc)
        if code not in self.works:
            raise ValueError(f"ISWC {code} is not in the catalogue")
        return self.works[code]

    def claim(self, text: str) -> int | None:
        if not text.strip():
            return None
        pk = _count(text, "claim id")
        if pk not in self.claims:
            self.claims[pk] = Claim.objects.filter(pk=pk).exists()
        if not self.claims[pk]:
            raise ValueError(f"claim {pk} does not exist")
        return pk

    def licence(self, reference: str) -> int | None:
        if not reference.strip():
            return None
        if reference.strip() not in self.licences:
            raise ValueError(f"licence {reference.strip()!r} does not exist")
        return self.licences[reference.strip()]


@dataclass(frozen=True)
class _Row:
    number: int
    fields: dict[str, Any]


def _line_fields(
    cat: _Catalogue,
    *,
    isrc: str = "",
    iswc: str = "",
    territory: str,
    use: str,
    quantity: str,
    amount: str,
    stream: str = "",
    user: str = "",
    claim: str = "",
    licence: str = "",
) -> dict[str, Any]:
    """Validate one usage line's cells; raises ValueError / IdentifierError with the reason."""
    if use not in licensing_terms.USES:
        raise ValueError(f"use {use!r} is not one of {', '.join(licensing_terms.USES)}")
    if not (isrc or iswc):
        raise ValueError("give an ISRC (recording) or an ISWC (work)")
    stream = stream or ("master" if isrc else "publishing")
    if stream not in ("master", "publishing"):
        raise ValueError(f"stream must be master or publishing; got {stream!r}")
    fields: dict[str, Any] = {
        "territory": normalize_territory(territory),
        "use": use,
        "stream": stream,
        "quantity": _count(quantity, "quantity"),
        "amount": _non_negative(_decimal(amount or "0", "amount")),
        "user_ref": user.strip()[:100],
        "claim_id": cat.claim(claim),
        "licence_id": cat.licence(licence),
    }
    if stream == "master":
        if not isrc:
            raise ValueError("a master line needs an ISRC")
        fields["recording_id"] = cat.recording(isrc)
    else:
        if iswc:
            fields["work_id"] = cat.work(iswc)
        if isrc:
            fields["recording_id"] = cat.recording(isrc)
    return fields


def _write(report_fields: dict[str, Any], rows: Iterable[_Row]) -> UsageReport:
    """Check every row, write them in batches in one transaction; any error rolls everything back."""
    errors: list[tuple[int, str]] = []
    with transaction.atomic():
        report = UsageReport.objects.create(**report_fields)
        batch: list[UsageLine] = []
        count = quantity = 0
        amount = Decimal(0)
        for row in rows:
            if "error" in row.fields:
                errors.append((row.number, row.fields["error"]))
                if len(errors) >= MAX_ERRORS:
                    break
                continue
            if errors:
                continue  # keep checking, stop writing
            batch.append(UsageLine(report=report, row_number=row.number, **row.fields))
            count += 1
            quantity += row.fields["quantity"]
            amount += row.fields["amount"]
            if len(batch) >= BATCH:
                UsageLine.objects.bulk_create(batch)
                batch = []
        if errors:
            transaction.set_rollback(True)
            raise UsageImportError(errors)
        if count == 0 and not report_fields.get("message_id"):
            transaction.set_rollback(True)
            raise UsageImportError([(0, "the report has no usage lines")])
        UsageLine.objects.bulk_create(batch)
        report.line_count, report.total_quantity, report.total_amount = count, quantity, amount
        report.save(update_fields=["line_count", "total_quantity", "total_amount"])
    return report


def _check_new(sha256: str) -> None:
    existing = UsageReport.objects.filter(sha256=sha256).first()
    if existing is not None:
        raise DuplicateReportError([(0, f"this file was already imported as report {existing.pk} ({existing})")])


def _month(period: str) -> tuple[datetime.date, datetime.date]:
    try:
        start = datetime.datetime.strptime(period, "%Y-%m").date()
    except ValueError:
        raise UsageImportError([(0, f"period must be YYYY-MM; got {period!r}")]) from None
    end = (start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return start, end


CSV_REQUIRED = {"territory", "quantity"}


def import_csv(
    source: str | Path | bytes,
    *,
    period: str,
    currency: str,
    platform: RightsHolder | None = None,
    pool_amount: Decimal | str | None = None,
    actor: Any = None,
    file_name: str = "",
) -> UsageReport:
    """Import a CSV usage report for one month (YYYY-MM) and currency. All rows or none."""
    data, name = _read(source)
    sha256 = hashlib.sha256(data).hexdigest()
    _check_new(sha256)
    start, end = _month(period)
    try:
        royalties.minor_exponent(currency)
    except ValueError as exc:
        raise UsageImportError([(0, str(exc))]) from None
    text = io.StringIO(data.decode("utf-8-sig"))
    reader = csv.DictReader(text)
    header = {h.strip().lower() for h in reader.fieldnames or []}
    missing = CSV_REQUIRED - header
    if missing or not ({"isrc", "iswc"} & header):
        need = sorted(missing | (set() if {"isrc", "iswc"} & header else {"isrc or iswc"}))
        raise UsageImportError([(1, f"the header lacks column(s): {', '.join(need)}")])
    if pool_amount is None and "amount" not in header:
        raise UsageImportError([(1, "give an amount column, or a pool amount for the report")])
    cat = _Catalogue.load()

    def rows() -> Iterator[_Row]:
        for index, raw in enumerate(reader, start=2):
            cells = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            try:
                fields = _line_fields(
                    cat,
                    isrc=cells.get("isrc", ""),
                    iswc=cells.get("iswc", ""),
                    territory=cells.get("territory", ""),
                    use=cells.get("use") or "streaming",
                    quantity=cells.get("quantity", ""),
                    amount=cells.get("amount", ""),
                    stream=cells.get("stream", ""),
                    user=cells.get("user", ""),
                    claim=cells.get("claim_id", ""),
                    licence=cells.get("licence", ""),
                )
            except (ValueError, IdentifierError) as exc:
                fields = {"error": str(exc)}
            yield _Row(reader.line_num if reader.line_num else index, fields)

    return _write(
        {
            "platform": platform,
            "source_format": UsageReport.Format.CSV,
            "file_name": file_name or name,
            "sha256": sha256,
            "period_start": start,
            "period_end": end,
            "currency": currency.upper(),
            "pool_amount": Decimal(str(pool_amount)) if pool_amount is not None else None,
            "imported_by": actor if getattr(actor, "pk", None) else None,
        },
        rows(),
    )


# --- DDEX DSR flat file --------------------------------------------------------------------------


@dataclass
class _DsrState:
    head: dict[str, Any] = field(default_factory=dict)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    blocks: set[str] = field(default_factory=set)
    records: int = 0
    foot: list[str] | None = None


def _dsr_head(cells: list[str]) -> dict[str, Any]:
    if len(cells) < 8:
        raise ValueError(
            "HEAD needs MessageVersion, Profile, ProfileVersion, MessageId, Created, StartOfPeriod, EndOfPeriod"
        )
    profile = DSR_PROFILES.get(cells[2].strip().lower().replace(" ", ""))
    if profile is None:
        raise ValueError(f"profile {cells[2]!r} is not supported (BasicAudio or UGC)")
    try:
        start = datetime.date.fromisoformat(cells[6].strip())
        end = datetime.date.fromisoformat(cells[7].strip())
    except ValueError:
        raise ValueError("StartOfPeriod and EndOfPeriod must be dates (YYYY-MM-DD)") from None
    if end < start:
        raise ValueError("the reporting period ends before it starts")
    return {
        "profile": profile,
        "message_id": cells[4].strip(),
        "start": start,
        "end": end,
        "sender": cells[9].strip() if len(cells) > 9 else "",
    }


def _dsr_rows(lines: Iterable[tuple[int, list[str]]], state: _DsrState, cat: _Catalogue) -> Iterator[_Row]:
    for number, cells in lines:
        kind = cells[0].strip().upper()
        try:
            if not state.head and kind != "HEAD":
                raise ValueError(f"the file must start with HEAD, not {kind}")
            if state.foot is not None:
                raise ValueError("nothing may follow FOOT")
            if kind == "HEAD":
                if state.head:
                    raise ValueError("a second HEAD")
                state.head = _dsr_head(cells)
                continue
            if kind == "FOOT":
                state.foot = cells
                continue
            state.records += 1
            if kind.startswith("SY"):
                if len(cells) < 8:
                    raise ValueError(
                        "SY needs SummaryRecordId, CommercialModel, UseType, Territory, Currency, "
                        "TotalUsages, TotalNetRevenue"
                    )
                royalties.minor_exponent(cells[5].strip())
                state.summaries[cells[1].strip()] = {
                    "currency": cells[5].strip().upper(),
                    "revenue": _decimal(cells[7], "TotalNetRevenue"),
                    "territory": cells[4].strip(),
                    "use": cells[3].strip().lower(),
                }
            elif kind in ("RE01", "AS01", "MW01"):
                state.blocks.add(cells[1].strip())
                if kind == "AS01":
                    if len(cells) < 4:
                        raise ValueError("AS01 needs BlockId, ResourceReference, ISRC")
                    state.resources[(cells[1].strip(), cells[2].strip())] = {"isrc": cells[3].strip()}
                elif kind == "MW01":
                    if len(cells) < 4:
                        raise ValueError("MW01 needs BlockId, ResourceReference, ISWC")
                    state.resources.setdefault((cells[1].strip(), cells[2].strip()), {})["iswc"] = cells[3].strip()
            elif kind == "SU01":
                yield _Row(number, _dsr_usage(cells, state, cat))
            else:
                raise ValueError(f"unknown record type {kind}")
        except (ValueError, IdentifierError) as exc:
            yield _Row(number, {"error": str(exc)})


def _dsr_usage(cells: list[str], state: _DsrState, cat: _Catalogue) -> dict[str, Any]:
    if len(cells) < 9:
        raise ValueError(
            "SU01 needs BlockId, SummaryRecordId, TransactionId, ResourceReference, UseType, "
            "Territory, Usages, NetRevenue"
        )
    cells = cells + [""] * (12 - len(cells))
    summary = state.summaries.get(cells[2].strip())
    if summary is None:
        raise ValueError(f"SummaryRecordId {cells[2].strip()!r} is not declared by an SY record above")
    resource = state.resources.get((cells[1].strip(), cells[4].strip()))
    if resource is None:
        raise ValueError(f"ResourceReference {cells[4].strip()!r} is not declared in block {cells[1].strip()!r}")
    use = cells[5].strip().lower() or summary["use"]
    use = {
        "stream": "streaming",
        "ondemandstream": "streaming",
        "permanentdownload": "download",
        "usermadecontent": "ugc",
    }.get(use, use)
    if state.head.get("profile") == "UGC" and use == "streaming":
        use = "ugc"
    return _line_fields(
        cat,
        isrc=resource.get("isrc", ""),
        iswc=resource.get("iswc", ""),
        territory=cells[6],
        use=use,
        quantity=cells[7],
        amount=cells[8],
        user=cells[9],
        claim=cells[10],
        licence=cells[11],
    )


def _dsr_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, line.rstrip("\r\n").split("\t")


def _check_foot(state: _DsrState, last_line: int) -> list[tuple[int, str]]:
    if not state.head:
        return [(1, "no HEAD record")]
    if state.foot is None:
        return [(last_line, "no FOOT record: the file is truncated")]
    if not state.summaries:
        return [(last_line, "no summary (SY) record")]
    currencies = {s["currency"] for s in state.summaries.values()}
    problems = []
    if len(currencies) > 1:
        problems.append((0, f"one currency per report; found {', '.join(sorted(currencies))}"))
    try:
        declared = _count(state.foot[1] if len(state.foot) > 1 else "", "FOOT NumberOfRecordsInReport")
        if declared != state.records:
            problems.append((last_line, f"FOOT declares {declared} records but the report has {state.records}"))
    except ValueError as exc:
        problems.append((last_line, str(exc)))
    return problems


def import_dsr(
    source: str | Path | bytes, *, platform: RightsHolder | None = None, actor: Any = None, file_name: str = ""
) -> UsageReport:
    """Import a DSR flat file (BasicAudio or UGC profile). All records or none."""
    data, name = _read(source)
    sha256 = hashlib.sha256(data).hexdigest()
    _check_new(sha256)
    text = data.decode("utf-8-sig")
    cat = _Catalogue.load()
    state = _DsrState()
    # Pass 1 validates the structure and collects the rows' errors without writing; pass 2 writes.
    errors = [
        (row.number, row.fields["error"]) for row in _dsr_rows(_dsr_lines(text), state, cat) if "error" in row.fields
    ][:MAX_ERRORS]
    errors += _check_foot(state, len(text.splitlines()))
    if errors:
        raise UsageImportError(sorted(errors, key=lambda e: e[0]))
    head, summaries = state.head, state.summaries
    fresh = _DsrState()
    return _write(
        {
            "platform": platform,
            "source_format": UsageReport.Format.DSR,
            "profile": head["profile"],
            "file_name": file_name or name,
            "sha256": sha256,
            "message_id": head["message_id"],
            "period_start": head["start"],
            "period_end": head["end"],
            "currency": next(iter(summaries.values()))["currency"],
            "pool_amount": sum((s["revenue"] for s in summaries.values()), Decimal(0)),
            "imported_by": actor if getattr(actor, "pk", None) else None,
        },
        _dsr_rows(_dsr_lines(text), fresh, cat),
    )
