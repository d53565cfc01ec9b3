"""`manage.py register_renditions --list renditions.tsv`: register renditions of catalogue works (lines
`ISWC<TAB>path`), so that uploads performing them (covers) are found and claimed for the works' publishers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog import identifiers
from catalog.models import Work
from fingerprint import actions, audio
from fingerprint.management.commands._lists import ProgressBar, read_id_path_list


class Command(BaseCommand):
    help = (
        "Register a rendition of each catalogue work of an 'ISWC<TAB>path' list for work identification (the "
        "work must exist; a work's new rendition replaces its previous one in the work index; the same file "
        "again changes nothing). Lines that cannot be used are reported and skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", required=True, dest="list_path", help="file of ISWC<TAB>path lines")

    def handle(self, *args: Any, list_path: str, **options: Any) -> None:
        entries = read_id_path_list(list_path)
        bar = ProgressBar(len(entries), "register_renditions")
        registered = failed = 0
        for iswc, path in entries:
            try:
                work = Work.objects.filter(iswc=identifiers.normalize_iswc(iswc)).first()
                if work is None:
                    raise LookupError("no catalogue work has this ISWC")
                actions.register_rendition(work, path, original_name=path.name)
            except (
                identifiers.IdentifierError,
                LookupError,
                audio.AudioError,
                actions.ReferenceConflictError,
                OSError,
            ) as exc:
                failed += 1
                self.stderr.write(f"{iswc}\t{path}\t{exc}")
            else:
                registered += 1
            bar.step(iswc)
        self.stdout.write(f"Registered {registered} renditions, failed {failed}.")
        if failed and not registered:
            raise CommandError("No rendition could be registered.")
