"""`manage.py register_works --list works.tsv`: register compositions (lines `work_id<TAB>path`)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fingerprint import audio, work_features, works
from fingerprint.management.commands._lists import ProgressBar, read_id_path_list
from fingerprint.work_store import work_store

BATCH = 200  # works published per index generation: a crash loses at most one batch of work


class Command(BaseCommand):
    help = (
        "Register compositions for work identification from a 'work_id<TAB>path' list (a rendition of "
        "each work; registering a work id again replaces it). Files that cannot be used are reported "
        "and skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", required=True, dest="list_path", help="file of work_id<TAB>path lines")

    def handle(self, *args: Any, list_path: str, **options: Any) -> None:
        entries = read_id_path_list(list_path)
        store = work_store()
        bar = ProgressBar(len(entries), "register_works")
        batch: list[tuple[str, works.ReferenceFeatures]] = []
        registered, failed, seconds = 0, 0, 0.0
        started = time.monotonic()
        for work_id, path in entries:
            try:
                decoded = audio.decode(
                    path,
                    work_features.SAMPLE_RATE,
                    max_bytes=settings.AUDIO_MAX_BYTES,
                    max_duration_s=settings.AUDIO_MAX_DURATION_S,
                )
            except (audio.AudioError, OSError) as exc:
                failed += 1
                self.stderr.write(f"{work_id}: {path}: {exc}")
                bar.step(work_id)
                continue
            seconds += decoded.duration_s
            batch.append((work_id, works.analyse_reference(decoded.samples, decoded.sample_rate)))
            if len(batch) >= BATCH:
                registered += store.register_many(batch)
                batch = []
            bar.step(work_id)
        registered += store.register_many(batch)
        elapsed = time.monotonic() - started
        self.stderr.write(
            f"{registered} works registered ({seconds / 60:.1f} min of audio in {elapsed:.1f} s), {failed} failed; "
            f"the work index holds {len(store)} works."
        )
        if failed and not registered:
            raise CommandError("No work could be registered.")
