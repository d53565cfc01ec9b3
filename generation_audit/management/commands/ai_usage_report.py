"""Report a licensed AI service's month as royalty income (generation_audit.payouts)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation_audit import payouts
from generation_audit.models import AIService
from rights.usage import UsageImportError


class Command(BaseCommand):
    help = (
        "Turn a licensed AI service's month into a usage report and import it with the service's operator as "
        "the platform, so run_royalties pays it through splits: recommendations served (per-use licences price "
        "them), or a generation service's training pool (per item of its latest passed manifest) and output "
        "pool (by attribution). A month is reported once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--service", required=True, help="The AI service's name.")
        parser.add_argument("--period", required=True, help="The month, YYYY-MM.")
        parser.add_argument("--currency", required=True, help="ISO 4217 code, e.g. EUR.")
        parser.add_argument("--training-pool", help="Generation: the amount shared over the training manifest.")
        parser.add_argument(
            "--output-pool",
            help="Generation: the amount shared over the month's outputs by attribution. Recommendation: the "
            "report's pool for pool-model runs (needed unless the licence is per-use).",
        )
        parser.add_argument(
            "--training-territory",
            help="Country of the training usage when the manifest was trained anywhere (WORLD).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        service = AIService.objects.filter(name=options["service"]).select_related("operator").first()
        if service is None:
            raise CommandError(f"No AI service is named {options['service']!r}.")
        try:
            result = payouts.ai_usage_report(
                service,
                options["period"],
                options["currency"],
                training_pool=options["training_pool"],
                output_pool=options["output_pool"],
                training_territory=options["training_territory"],
            )
        except (payouts.PayoutError, UsageImportError) as exc:
            raise CommandError(str(exc)) from None
        report = result.report
        self.stdout.write(
            f"Imported report {report.pk} for {service.name} ({report.period_start:%Y-%m}, platform "
            f"{service.operator}): {report.line_count} lines, {report.total_quantity} uses, "
            f"{report.total_amount.normalize():f} {report.currency}"
            + (f", pool {report.pool_amount.normalize():f}" if report.pool_amount is not None else "")
            + "."
        )
        if result.skipped:
            self.stdout.write(f"Not reported ({len(result.skipped)}):")
            for reason in result.skipped:
                self.stdout.write(f"  - {reason}")
