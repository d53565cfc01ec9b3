from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rights import exports, runs
from rights.models import RightsHolder, RoyaltyRun


class Command(BaseCommand):
    help = "Write each party's statement of a royalty run as CSV and as a DSR-shaped flat file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", help="The month, YYYY-MM (its latest finished run).")
        parser.add_argument("--run", type=int, help="A run id instead of a period.")
        parser.add_argument("--party", type=int, action="append", help="Only these party ids (repeatable).")
        parser.add_argument("--out", default="statements", help="Directory to write into (created).")
        parser.add_argument("--format", choices=["csv", "dsr", "both"], default="both")

    def handle(self, *args: Any, **options: Any) -> None:
        run = self._run(options)
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        parties = RightsHolder.objects.filter(statements__run=run).distinct().order_by("pk")
        if options["party"]:
            parties = parties.filter(pk__in=options["party"])
        written = 0
        for party in parties:
            stem = f"{run.period:%Y%m}-run{run.pk}-party{party.pk}"
            if options["format"] in ("csv", "both"):
                with (out / f"{stem}.csv").open("w", encoding="utf-8", newline="") as fh:
                    fh.writelines(exports.statement_csv(run, party, paid_only=True))
                written += 1
            if options["format"] in ("dsr", "both"):
                with (out / f"{stem}.dsr.tsv").open("w", encoding="utf-8", newline="") as fh:
                    fh.writelines(exports.statement_dsr(run, party))
                written += 1
        with (out / f"{run.period:%Y%m}-run{run.pk}-all-lines.csv").open("w", encoding="utf-8", newline="") as fh:
            fh.writelines(exports.statement_csv(run))
        self.stdout.write(
            f"Wrote {written} statement file(s) for {parties.count()} party(ies) and the full "
            f"ledger of run {run.pk} to {out}/."
        )

    def _run(self, options: dict[str, Any]) -> RoyaltyRun:
        if options["run"]:
            run = RoyaltyRun.objects.filter(pk=options["run"], status=RoyaltyRun.Status.DONE).first()
        elif options["period"]:
            try:
                first, _, _ = runs.month_bounds(options["period"])
            except runs.RunError as exc:
                raise CommandError(str(exc)) from None
            run = RoyaltyRun.objects.filter(period=first, status=RoyaltyRun.Status.DONE).order_by("-started_at").first()
        else:
            raise CommandError("Give --period YYYY-MM or --run ID.")
        if run is None:
            raise CommandError("No finished royalty run matches; make one with run_royalties first.")
        return run
