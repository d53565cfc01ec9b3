"""The royalty benchmark: a synthetic catalogue with 2-8 party splits and a large usage report, then a run.

Used by `manage.py bench_royalties`. Data are generated with a seeded random generator and written
with COPY on PostgreSQL (bulk_create elsewhere); splits are validated like any split and audited.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Sum

from catalog.models import Label, Recording
from rights import audit, royalties, runs
from rights.models import RightsHolder, RoyaltyRun, Split, SplitShare, StatementLine, UsageLine, UsageReport
from rights.splits import validate_shares

LABEL = "Bench Records"
TERRITORIES = ["US", "GB", "DE", "FR", "JP", "BR", "MX", "CA", "AU", "IT", "ES", "NL", "SE", "KR", "IN", "PL"]
USAGE_COLUMNS = (
    "report_id",
    "row_number",
    "recording_id",
    "stream",
    "territory",
    "use",
    "quantity",
    "amount",
    "user_ref",
)


@dataclass(frozen=True)
class Generated:
    recordings: int
    parties: int
    shares: int
    lines: int
    report: UsageReport
    seconds: float


class RssSampler(threading.Thread):
    """Samples this process's resident memory every 50 ms (Linux /proc); `peak` is the highest seen."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = self.start_rss = current_rss()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.05):
            self.peak = max(self.peak, current_rss())

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, current_rss())
        return self.peak


def current_rss() -> int:
    """Resident memory of this process in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def reset(period: datetime.date) -> None:
    """Remove an earlier benchmark's runs and usage (bench data only). The catalogue stays for reuse."""
    table = StatementLine._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        for run_id in RoyaltyRun.objects.filter(period=period).values_list("pk", flat=True):
            cursor.execute(f"DELETE FROM {table} WHERE run_id = %s", [run_id])
        RoyaltyRun.objects.filter(period=period).delete()
        for pk in UsageReport.objects.filter(file_name__startswith="bench-").values_list("pk", flat=True):
            cursor.execute(f"DELETE FROM {UsageLine._meta.db_table} WHERE report_id = %s", [pk])
            UsageReport.objects.filter(pk=pk).delete()


def _drop_catalogue(label: Label) -> None:
    """Remove the bench catalogue (a different size was asked for), leaving one audit event that says so."""
    with transaction.atomic():
        recordings = Recording.objects.filter(label=label)
        splits = Split.objects.filter(recording__in=recordings)
        count = splits.count()
        SplitShare.objects.filter(split__in=splits)._raw_delete(connection.alias)  # type: ignore[attr-defined]
        splits._raw_delete(connection.alias)  # type: ignore[attr-defined]
        recordings._raw_delete(connection.alias)  # type: ignore[attr-defined]
        RightsHolder.objects.filter(name__startswith="Bench party ")._raw_delete(connection.alias)  # type: ignore[attr-defined]
        audit.record("rights.split", "bench", "deleted-bulk", {"splits": count, "label": LABEL})


def _existing_catalogue(recordings: int, parties: int) -> tuple[list[int], int] | None:
    label = Label.objects.filter(name=LABEL).first()
    if label is None:
        return None
    ids = list(Recording.objects.filter(label=label).order_by("pk").values_list("pk", flat=True))
    holders = RightsHolder.objects.filter(name__startswith="Bench party ").count()
    shares = SplitShare.objects.filter(split__recording__label=label).count()
    if len(ids) == recordings and holders == parties and shares:
        return ids, shares
    _drop_catalogue(label)
    return None


def _shares(rng: random.Random, n: int) -> list[Decimal]:
    cuts = sorted(rng.sample(range(1, 10_000), n - 1))
    bounds = [0, *cuts, 10_000]
    return [Decimal(hi - lo).scaleb(-2) for lo, hi in itertools.pairwise(bounds)]


def _catalogue(rng: random.Random, recordings: int, parties: int) -> tuple[list[int], int]:
    label, _ = Label.objects.get_or_create(name=LABEL)
    holders = RightsHolder.objects.bulk_create(
        [RightsHolder(name=f"Bench party {i}", kind=RightsHolder.Kind.ARTIST) for i in range(parties)],
        batch_size=5000,
    )
    recs = Recording.objects.bulk_create(
        [Recording(title=f"Bench track {i}", isrc=f"QZBEN26{i:05d}", label=label) for i in range(recordings)],
        batch_size=5000,
    )
    splits = Split.objects.bulk_create(
        [Split(recording=r, stream=Split.Stream.MASTER, note="bench") for r in recs], batch_size=5000
    )
    shares = []
    for split in splits:
        chosen = rng.sample(holders, rng.randint(2, 8))
        clean = validate_shares([(p, s, "") for p, s in zip(chosen, _shares(rng, len(chosen)), strict=True)])
        shares += [SplitShare(split=split, party=p, share=s) for p, s, _ in clean]
    SplitShare.objects.bulk_create(shares, batch_size=5000)
    audit.record_many(
        [("rights.split", str(s.pk), "created", audit.snapshot(s)) for s in splits]
        + [("rights.splitshare", str(s.pk), "created", audit.snapshot(s)) for s in shares]
    )
    return [r.pk for r in recs], len(shares)


def _usage_rows(rng: random.Random, report_id: int, recordings: list[int], lines: int) -> Iterator[str]:
    territories = TERRITORIES
    for row in range(1, lines + 1):
        quantity = rng.randint(1, 2000)
        micro = quantity * rng.randint(2000, 6000)  # 0.002-0.006 EUR per play, in millionths
        yield (
            f"{report_id}\t{row}\t{recordings[rng.randrange(len(recordings))]}\tmaster\t"
            f"{territories[rng.randrange(len(territories))]}\tstreaming\t{quantity}\t"
            f"{micro // 1_000_000}.{micro % 1_000_000:06d}\tu{rng.randrange(100_000)}\n"
        )


def generate(
    period: datetime.date,
    lines: int,
    recordings: int,
    parties: int,
    seed: int = 2026,
    log: Callable[[str], None] = print,
) -> Generated:
    """A catalogue of `recordings` with 2-8 party splits and one usage report of `lines` lines."""
    started = time.perf_counter()
    rng = random.Random(seed)
    with transaction.atomic():
        existing = _existing_catalogue(recordings, parties)
        recording_ids, share_count = existing or _catalogue(rng, recordings, parties)
        end = runs.month_bounds(period)[1]
        report = UsageReport.objects.create(
            source_format=UsageReport.Format.CSV,
            file_name=f"bench-{seed}-{lines}",
            currency="EUR",
            sha256=hashlib.sha256(f"bench-{seed}-{lines}-{period}-{time.time()}".encode()).hexdigest(),
            period_start=period,
            period_end=end,
        )
        log(
            f"  catalogue{' (reused)' if existing else ''}: {recordings:,} recordings, {parties:,} parties, "
            f"{share_count:,} split shares "
            f"({time.perf_counter() - started:.1f} s)"
        )
        rows = _usage_rows(random.Random(seed + 1), report.pk, recording_ids, lines)
        if connection.vendor == "postgresql":
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {UsageLine._meta.db_table} ({', '.join(USAGE_COLUMNS)}) FROM STDIN") as copy,
            ):
                batch: list[str] = []
                for row in rows:
                    batch.append(row)
                    if len(batch) >= 50_000:
                        copy.write("".join(batch))
                        batch = []
                copy.write("".join(batch))
        else:
            for start in range(0, lines, 5000):
                chunk = [next(rows).rstrip("\n").split("\t") for _ in range(min(5000, lines - start))]
                UsageLine.objects.bulk_create([UsageLine(**dict(zip(USAGE_COLUMNS, c, strict=True))) for c in chunk])
        agg = UsageLine.objects.filter(report=report).aggregate(a=Sum("amount"), q=Sum("quantity"), n=Count("pk"))
        report.line_count, report.total_amount, report.total_quantity = agg["n"], agg["a"], agg["q"]
        report.save(update_fields=["line_count", "total_amount", "total_quantity"])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {UsageLine._meta.db_table}")
    return Generated(recordings, parties, share_count, lines, report, time.perf_counter() - started)


def existing_report(period: datetime.date) -> UsageReport | None:
    """The usage report of the last benchmark for the period, if its data are still there."""
    return UsageReport.objects.filter(file_name__startswith="bench-", period_start=period).order_by("-pk").first()


@dataclass(frozen=True)
class BenchResult:
    run: RoyaltyRun
    seconds: float
    peak_rss: int
    start_rss: int
    exact: bool
    pool_minor: int


def run(period: datetime.date, model: str, report: UsageReport) -> BenchResult:
    """Time one royalty run of the period while sampling memory; check that every cent is accounted for."""
    sampler = RssSampler()
    sampler.start()
    started = time.perf_counter()
    result = runs.run_royalties(period, model)
    seconds = time.perf_counter() - started
    peak = sampler.stop()
    pool = royalties.to_minor(report.total_amount, report.currency)
    allocated = sum(result.totals.get(report.currency, {}).values())
    return BenchResult(result, seconds, peak, sampler.start_rss, allocated == pool, pool)
