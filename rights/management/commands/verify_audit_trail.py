from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from rights import audit


class Command(BaseCommand):
    help = "Check the rights audit trail's hash chain: reports every edited, inserted or deleted event."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, problems = audit.check_and_record()
        for problem in problems:
            self.stderr.write(f"  {problem.message}")
        if problems:
            raise CommandError(f"The audit trail is broken: {len(problems)} problem(s) in {checked} event(s).")
        self.stdout.write(self.style.SUCCESS(f"The audit trail is intact: {checked} event(s), chain verified."))
