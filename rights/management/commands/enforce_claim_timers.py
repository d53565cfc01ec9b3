from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from rights import disputes


class Command(BaseCommand):
    help = "Apply claim timers that have run out (what the hourly beat task does)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = disputes.enforce_timers()
        self.stdout.write(
            f"{report.expired_potential} potential claim(s) expired, {report.disputes_expired} dispute(s) and "
            f"{report.appeals_expired} appeal(s) unanswered (released), {report.reinstated} reinstated."
        )
