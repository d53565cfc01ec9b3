"""Shared helpers for the commands that read `id<TAB>path` lists and print progress bars."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import CommandError


def read_id_path_list(list_path: str) -> list[tuple[str, Path]]:
    """Lines `id<TAB>path` (blank lines and lines starting with # ignored); relative paths are
    taken relative to the list file. Raises CommandError naming the first malformed line."""
    source = Path(list_path)
    if not source.is_file():
        raise CommandError(f"List file not found: {source}")
    entries: list[tuple[str, Path]] = []
    seen: set[str] = set()
    for number, line in enumerate(source.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise CommandError(f"{source}:{number}: expected 'id<TAB>path', got {line!r}")
        identifier, path = parts[0].strip(), Path(parts[1].strip())
        if identifier in seen:
            raise CommandError(f"{source}:{number}: id {identifier!r} appears twice")
        seen.add(identifier)
        entries.append((identifier, path if path.is_absolute() else source.parent / path))
    return entries


class ProgressBar:
    """A one-line text progress bar on stderr (redrawn in place on a terminal, every 10 % otherwise)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done = max(total, 1), label, 0
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self._last_decile = -1

    def step(self, note: str = "") -> None:
        self.done += 1
        fraction = self.done / self.total
        decile = int(fraction * 10)
        if not self.tty and decile == self._last_decile and self.done != self.total:
            return
        self._last_decile = decile
        filled = int(fraction * 30)
        elapsed = time.monotonic() - self.started
        line = f"{self.label} [{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} {elapsed:6.1f} s {note}"
        sys.stderr.write(("\r" + line[:110].ljust(110)) if self.tty else line + "\n")
        if self.tty and self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def default_workers() -> int:
    """Files handled at once by the batch commands: the CPUs this process may use, at most 4."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(4, cpus))


def one_kernel_thread_per_worker(workers: int) -> None:
    """With several worker threads, torch, faiss and the FFTs run one thread each: the files are parallel, not
    the kernels, and a pool per worker thread would oversubscribe the CPUs. An explicit
    CONTENTID_TORCH_THREADS is kept."""
    if workers > 1:
        from fingerprint import index, landmarks

        os.environ.setdefault("CONTENTID_TORCH_THREADS", "1")
        index.faiss_threads(1)
        landmarks.fft_threads(1)


def registered_catalogue(refs_list: str) -> dict[int, str]:
    """Registers the references of an `id<TAB>path` list (register_audio) unless every one already is,
    and returns every reference asset's id -> its recording's external id (the benchmarks' names)."""
    from catalog.models import AudioAsset  # models load only once Django is set up

    references = AudioAsset.objects.filter(kind=AudioAsset.Kind.REFERENCE)
    wanted = {ref_id for ref_id, _ in read_id_path_list(refs_list)}
    if not wanted <= set(references.values_list("recording__external_id", flat=True)):
        call_command("register_audio", list_path=refs_list)
    return dict(references.values_list("pk", "recording__external_id"))
