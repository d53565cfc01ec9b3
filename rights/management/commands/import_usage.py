from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rights import usage
from rights.models import RightsHolder


class Command(BaseCommand):
    help = "Import a usage report (CSV or DDEX DSR flat file). All rows or none; errors name their line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--format", choices=["csv", "dsr"], default="dsr")
        parser.add_argument("--period", help="CSV: the month, YYYY-MM.")
        parser.add_argument("--currency", help="CSV: ISO 4217 code.")
        parser.add_argument("--pool-amount", help="CSV: the pool to share (pro-rata, user-centric runs).")
        parser.add_argument("--platform", type=int, help="The reporting platform's party id.")

    def handle(self, *args: Any, **options: Any) -> None:
        platform = RightsHolder.objects.filter(pk=options["platform"]).first() if options["platform"] else None
        try:
            if options["format"] == "csv":
                if not (options["period"] and options["currency"]):
                    raise CommandError("A CSV report needs --period and --currency.")
                report = usage.import_csv(
                    options["path"],
                    period=options["period"],
                    currency=options["currency"],
                    platform=platform,
                    pool_amount=options["pool_amount"],
                )
            else:
                report = usage.import_dsr(options["path"], platform=platform)
        except usage.UsageImportError as exc:
            for number, message in exc.errors:
                self.stderr.write(f"  line {number}: {message}" if number else f"  {message}")
            raise CommandError(f"Nothing imported ({len(exc.errors)} problem(s)).") from None
        self.stdout.write(
            f"Imported report {report.pk}: {report.line_count} lines, {report.total_quantity} uses, "
            f"{report.total_amount.normalize()} {report.currency}."
        )
