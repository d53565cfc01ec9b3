from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from fingerprint import actions


class Command(BaseCommand):
    help = (
        "Re-fingerprint every registered reference into a fresh landmark index and swap it in "
        "atomically (after an engine upgrade, or when the index on disk is missing or damaged)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        count = actions.rebuild_index()
        self.stdout.write(f"Indexed {count} reference files in {time.monotonic() - started:.1f} s.")
