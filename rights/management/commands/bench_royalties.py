from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from rights import bench, royalties, runs
from rights.models import RoyaltyRun, UsageReport


class Command(BaseCommand):
    help = (
        "Benchmark a royalty run: generate a catalogue with 2-8 party splits and a usage report (default "
        "1,000,000 lines over 10,000 recordings), run the month, print lines/s and peak memory. "
        "Meant for PostgreSQL (DATABASE_URL); it replaces an earlier benchmark's data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lines", type=int, default=1_000_000)
        parser.add_argument("--recordings", type=int, default=10_000)
        parser.add_argument("--parties", type=int, default=2_000)
        parser.add_argument("--period", default="2031-01", help="A month no real data uses (YYYY-MM).")
        parser.add_argument("--model", default="revenue", choices=RoyaltyRun.PoolModel.values)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--reuse", action="store_true", help="Run again on the last benchmark's data.")

    def handle(self, *args: Any, **options: Any) -> None:
        period = runs.month_bounds(options["period"])[0]
        if connection.vendor != "postgresql":
            self.stdout.write(self.style.WARNING("Not PostgreSQL: the figures will not mean much (set DATABASE_URL)."))
        self.stdout.write(f"Database: {connection.vendor} {connection.settings_dict['NAME']}")
        report = bench.existing_report(period) if options["reuse"] else None
        if report is None:
            report = self._generate(period, options)
        else:
            self.stdout.write(f"Reusing report {report.pk}: {report.line_count:,} usage lines.")
        result = bench.run(period, options["model"], report)
        run, mib = result.run, 1024 * 1024
        self.stdout.write(
            f"Royalty run {run.pk} ({run.pool_model}): {run.usage_lines:,} usage lines -> "
            f"{run.statement_lines:,} statement lines, {run.statements.count():,} statements in {result.seconds:.1f} s"
        )
        self.stdout.write(f"  {run.usage_lines / result.seconds:,.0f} usage lines/s")
        self.stdout.write(
            f"  peak memory (RSS) during the run: {result.peak_rss / mib:.0f} MiB "
            f"(before the run {result.start_rss / mib:.0f} MiB, +{(result.peak_rss - result.start_rss) / mib:.0f} MiB)"
        )
        totals = run.totals.get(report.currency, {})
        parts = ", ".join(f"{k} {royalties.from_minor(v, report.currency)}" for k, v in sorted(totals.items()))
        verdict = "exact, no cent created or lost" if result.exact else "MISMATCH"
        pool = royalties.from_minor(result.pool_minor, report.currency)
        self.stdout.write(f"  pool {pool} {report.currency} = {parts}: {verdict}")
        self.stdout.write(f"  target < 60 s: {'met' if result.seconds < 60 else 'NOT met'} ({result.seconds:.1f} s)")

    def _generate(self, period: Any, options: dict[str, Any]) -> UsageReport:
        bench.reset(period)
        self.stdout.write(f"Generating {options['lines']:,} usage lines over {options['recordings']:,} recordings:")
        data = bench.generate(
            period, options["lines"], options["recordings"], options["parties"], options["seed"], log=self.stdout.write
        )
        self.stdout.write(f"  generated in {data.seconds:.1f} s")
        return data.report
