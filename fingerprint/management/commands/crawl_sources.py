from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fingerprint import sources
from fingerprint.models import Source


class Command(BaseCommand):
    help = (
        "Crawl sources now, in this process: every active source, or the ones named with --source "
        "(active or not). Prints one line per fetch with its outcome, then a summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source", type=int, action="append", dest="source_ids", metavar="ID", help="a source id (repeatable)"
        )

    def handle(self, *args: Any, source_ids: list[int] | None, **options: Any) -> None:
        if source_ids:
            chosen = list(Source.objects.filter(pk__in=source_ids).order_by("pk"))
            missing = sorted(set(source_ids) - {s.pk for s in chosen})
            if missing:
                raise CommandError(f"No source with id {', '.join(map(str, missing))}.")
        else:
            chosen = list(Source.objects.filter(active=True).order_by("pk"))
            if not chosen:
                self.stdout.write("No active sources to crawl.")
                return
        counts: Counter[str] = Counter()
        for source in chosen:
            self.stdout.write(f"Source {source.pk}: {source}")
            for fetch in sources.crawl_source(source.pk):
                counts[fetch.outcome] += 1
                scan = f" scan {fetch.scan_id}" if fetch.scan_id else ""
                self.stdout.write(f"  {fetch.outcome:<17} {fetch.url}{scan}  {fetch.detail}".rstrip())
        total = sum(counts.values())
        breakdown = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        plural = "s" if len(chosen) != 1 else ""
        self.stdout.write(
            self.style.SUCCESS(f"Crawled {len(chosen)} source{plural}: {total} fetches ({breakdown or 'none'}).")
        )
