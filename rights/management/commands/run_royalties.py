from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rights import royalties, runs
from rights.models import RoyaltyRun


class Command(BaseCommand):
    help = "Make the royalty run of one month (statements for every party), or --verify the latest one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="The month, YYYY-MM.")
        parser.add_argument(
            "--model",
            default="revenue",
            choices=RoyaltyRun.PoolModel.values,
            help="How usage pools are shared (default: reported revenue per line).",
        )
        parser.add_argument(
            "--verify",
            action="store_true",
            help="Re-compute the latest done run of the period without writing and compare.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            first, _, _ = runs.month_bounds(options["period"])
        except runs.RunError as exc:
            raise CommandError(str(exc)) from None
        if options["verify"]:
            self._verify(first)
            return
        started = time.perf_counter()
        run = runs.run_royalties(first, options["model"])
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"Royalty run {run.pk} for {first:%Y-%m} ({run.pool_model}): {run.usage_lines} usage lines -> "
            f"{run.statement_lines} statement lines, {run.statements.count()} statements in {seconds:.1f} s."
        )
        for currency, kinds in sorted(run.totals.items()):
            if currency == "findings":
                continue
            parts = ", ".join(
                f"{kind} {royalties.from_minor(units, currency)}" for kind, units in sorted(kinds.items())
            )
            self.stdout.write(f"  {currency}: {parts}")
        for finding in run.totals.get("findings", []):
            self.stdout.write(self.style.WARNING(f"  finding: {finding}"))
        self.stdout.write(f"  result digest {run.result_digest}")

    def _verify(self, first: Any) -> None:
        run = RoyaltyRun.objects.filter(period=first, status=RoyaltyRun.Status.DONE).order_by("-started_at").first()
        if run is None:
            raise CommandError(f"No finished run for {first:%Y-%m} to verify.")
        same, digest = runs.verify_run(run)
        if not same:
            raise CommandError(f"Run {run.pk} does NOT reproduce: recorded {run.result_digest}, re-computed {digest}.")
        self.stdout.write(self.style.SUCCESS(f"Run {run.pk} reproduces exactly (digest {digest})."))
