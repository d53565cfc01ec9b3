from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation_audit import ledger


class Command(BaseCommand):
    help = (
        "Verify the AI-service ledger: the hash chain, and that the calls and stored outputs still say what "
        "the ledger recorded. Prints the entries checked, the head hash (write it down: pass it as "
        "--expect-head next time to detect a truncated tail) and each problem; exits 1 when tampered with."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--expect-head", default="", metavar="HASH", help="A head hash written down earlier.")
        parser.add_argument(
            "--skip-files", action="store_true", help="Do not re-hash the stored output files (faster)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = ledger.verify(options["expect_head"].strip().lower(), check_files=not options["skip_files"])
        self.stdout.write(f"Entries checked: {result.entries}")
        self.stdout.write(f"Head hash: {result.head_hash}")
        if result.ok:
            self.stdout.write(self.style.SUCCESS("The ledger is intact."))
            return
        for problem in result.problems:
            self.stdout.write(self.style.ERROR(problem))
        raise CommandError(f"the ledger has been tampered with: {len(result.problems)} problem(s)")
