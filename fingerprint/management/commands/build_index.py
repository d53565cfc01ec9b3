from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fingerprint import actions, allocator
from fingerprint.management.commands._lists import default_workers, one_kernel_thread_per_worker


class Command(BaseCommand):
    help = (
        "Re-fingerprint every registered reference into a fresh landmark index and swap it in "
        "atomically (after an engine upgrade, or when the index on disk is missing or damaged)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--in-worker", action="store_true", help="Queue the rebuild on the gpu queue instead of running it here."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help="files decoded and fingerprinted at once here, in threads (default: the CPUs this process may "
            "use, at most 4); each then runs torch and faiss on one thread",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["in_worker"]:
            from fingerprint import tasks

            tasks.rebuild_index.delay()
            self.stdout.write("Queued the rebuild on the gpu queue (a worker reading that queue runs it).")
            return
        one_kernel_thread_per_worker(options["workers"])
        allocator.retain_freed_memory()
        started = time.monotonic()
        count = actions.rebuild_index(workers=options["workers"])
        self.stdout.write(f"Indexed {count} reference files in {time.monotonic() - started:.1f} s.")
