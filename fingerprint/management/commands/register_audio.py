from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog.models import Recording
from fingerprint import actions, allocator
from fingerprint.management.commands._lists import (
    ProgressBar,
    default_workers,
    one_kernel_thread_per_worker,
    read_id_path_list,
)

# Files analysed per index generation: one rewrite per batch, and bounded memory for the batch's
# landmarks however long the list is.
BATCH = 200


class Command(BaseCommand):
    help = (
        "Register reference audio from a list of 'ref_id<TAB>path' lines: creates or updates the "
        "recording with that external id, then stores, fingerprints and indexes its audio."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--list", required=True, dest="list_path", help="file of ref_id<TAB>path lines")
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help="files decoded and fingerprinted at once, in threads (default: the CPUs this process may "
            "use, at most 4); each then runs torch and faiss on one thread",
        )

    def handle(self, *args: Any, list_path: str, workers: int, **options: Any) -> None:
        entries = read_id_path_list(list_path)
        one_kernel_thread_per_worker(workers)
        allocator.retain_freed_memory()
        started = time.monotonic()
        bar = ProgressBar(len(entries), "register")
        failures = registered = skipped = 0
        seconds = 0.0
        for first in range(0, len(entries), BATCH):
            batch, created = [], set()
            for ref_id, path in entries[first : first + BATCH]:
                recording, is_new = Recording.objects.get_or_create(external_id=ref_id, defaults={"title": ref_id})
                if is_new:
                    created.add(recording.pk)
                batch.append(actions.Registration(recording, path, original_name=path.name))
            for done in actions.register_references(
                batch, progress=lambda r: bar.step(r.recording.external_id or ""), workers=workers
            ):
                if done.error is not None:
                    failures += 1
                    self.stderr.write(f"{done.recording.external_id}\t{done.path}\t{done.error}")
                    if done.recording.pk in created:  # made for this file only: leave no empty recording
                        done.recording.delete()
                elif done.skipped:
                    skipped += 1
                else:
                    registered += 1
                    if done.asset is not None:
                        seconds += done.asset.duration_s or 0.0
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Registered {registered}, already current {skipped}, failed {failures} "
            f"({seconds / 3600:.2f} h of audio in {elapsed:.1f} s, {seconds / max(elapsed, 1e-9):.0f} x real time)."
        )
