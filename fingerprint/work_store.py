"""The work (composition) index on disk, under FINGERPRINT_INDEX_DIR / "works", keyed by the caller's
external work id. Django is used for the settings path only.

Layout:
    works.json                 format and feature versions; work id -> integer ref id
    vectors/                   a fingerprint.index.VectorIndex of the segment vectors (ref id = the integer)
    sequences/000000042.npy    the work's chroma sequence (n, 12) uint8, for the alignment
    .lock                      serialises writers across processes

Writers take the lock, write the id map first, then the sequences, then publish the vectors (one new
generation for a whole batch), each file by write-to-temporary, fsync and rename: a reader sees a work
only when its vectors are live, and by then its name and sequence are on disk.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings

from fingerprint import disk, file_lock, works
from fingerprint import work_features as wf
from fingerprint.index import VectorIndex

FORMAT_VERSION = 1
_stores: dict[Path, WorkStore] = {}


class WorkIndexMismatchError(RuntimeError):
    """The work index on disk was written by another format or feature version."""


class WorkStore:
    """Register and identify compositions in one work index directory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.vectors = VectorIndex(self.directory / "vectors", wf.VECTOR_DIM, wf.FEATURE_VERSION)
        self._ids_stamp: tuple[int, int] | None = None
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._sequence = lru_cache(maxsize=4096)(self._read_sequence)

    # --- ids ---------------------------------------------------------------------------------------
    def _ids_path(self) -> Path:
        return self.directory / "works.json"

    def ids(self) -> dict[str, int]:
        """Work id -> ref id, re-read when the file changed."""
        path = self._ids_path()
        try:
            stat = path.stat()
        except FileNotFoundError:
            return {}
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._ids_stamp:
            data = json.loads(path.read_text())
            found = (data.get("format_version"), data.get("feature_version"))
            if found != (FORMAT_VERSION, wf.FEATURE_VERSION):
                raise WorkIndexMismatchError(
                    f"{path} was written by format/features {found}, this code uses "
                    f"{(FORMAT_VERSION, wf.FEATURE_VERSION)}: python manage.py build_index re-registers the "
                    "catalogue's renditions; works registered from a list must be registered again."
                )
            self._ids = {str(k): int(v) for k, v in data["works"].items()}
            self._names = {v: k for k, v in self._ids.items()}
            self._ids_stamp = stamp
            self._sequence.cache_clear()
        return self._ids

    def work_id(self, ref_id: int) -> str | None:
        """The external work id of a ref id (None if unknown)."""
        self.ids()
        return self._names.get(int(ref_id))

    def __len__(self) -> int:
        return len(self.vectors.ref_ids())

    # --- sequences ---------------------------------------------------------------------------------
    def _sequence_path(self, ref_id: int) -> Path:
        return self.directory / "sequences" / f"{ref_id:09d}.npy"

    def _read_sequence(self, ref_id: int) -> np.ndarray | None:
        try:
            return np.load(self._sequence_path(ref_id))
        except FileNotFoundError:
            return None

    def load_sequence(self, ref_id: int) -> np.ndarray | None:
        """A registered work's chroma sequence (n, 12) uint8, or None."""
        return self._sequence(int(ref_id))

    # --- writing -----------------------------------------------------------------------------------
    def _write_lock(self) -> contextlib.AbstractContextManager[None]:
        return file_lock.exclusive(self.directory)

    def register_many(self, items: Iterable[tuple[str, works.ReferenceFeatures]]) -> int:
        """Register (or replace) works: (work id, features) pairs, published together. Returns the count."""
        batch = list(items)
        if not batch:
            return 0
        with self._write_lock():
            ids = dict(self.ids())
            for work_id, _ in batch:
                if work_id not in ids:
                    ids[work_id] = max(ids.values(), default=-1) + 1
            disk.atomic_write(
                self._ids_path(),
                json.dumps(
                    {"format_version": FORMAT_VERSION, "feature_version": wf.FEATURE_VERSION, "works": ids}, indent=0
                ).encode(),
            )
            (self.directory / "sequences").mkdir(exist_ok=True)
            for work_id, features in batch:
                disk.atomic_write(self._sequence_path(ids[work_id]), disk.npy_bytes(features.sequence))
            self.vectors.add_many((ids[w], f.vectors, f.times_s) for w, f in batch if len(f.vectors))
            self.ids()
            self._sequence.cache_clear()
        return len(batch)

    def replace_all(self, items: Iterable[tuple[str, works.ReferenceFeatures]]) -> int:
        """Every work replaced by these (a rebuild, e.g. after a feature-version change): sequences and
        vectors are written first, the ids file (which names the version) last, so a reader sees the
        old store or the new one. Returns the count."""
        batch = list(items)
        with self._write_lock():
            ids = {work_id: ref for ref, (work_id, _) in enumerate(batch)}
            (self.directory / "sequences").mkdir(parents=True, exist_ok=True)
            for work_id, features in batch:
                disk.atomic_write(self._sequence_path(ids[work_id]), disk.npy_bytes(features.sequence))
            self.vectors.rebuild((ids[w], f.vectors, f.times_s) for w, f in batch if len(f.vectors))
            disk.atomic_write(
                self._ids_path(),
                json.dumps(
                    {"format_version": FORMAT_VERSION, "feature_version": wf.FEATURE_VERSION, "works": ids}, indent=0
                ).encode(),
            )
            for stale in (self.directory / "sequences").glob("*.npy"):
                if int(stale.stem) >= len(batch):
                    stale.unlink(missing_ok=True)
            self._ids_stamp = None
            self._sequence.cache_clear()
        return len(batch)

    def identify(self, samples: np.ndarray, sample_rate: int) -> list[works.WorkMatch]:
        """Candidate works for mono samples, best first (see works.identify)."""
        self.ids()
        matches = works.identify(self.vectors, self.load_sequence, samples, sample_rate)
        return [m for m in matches if m.ref_id in self._names]

    def describe(self) -> dict[str, object]:
        """Counts and bytes on disk: works, vectors, sequence bytes."""
        folder = self.directory / "sequences"
        seq_bytes = sum(p.stat().st_size for p in folder.iterdir()) if folder.is_dir() else 0
        return {"works": len(self.ids()), **self.vectors.describe(), "sequence_bytes": seq_bytes}


def work_store() -> WorkStore:
    """The process's work store for the configured index directory (keeps what it loaded)."""
    directory = Path(settings.FINGERPRINT_INDEX_DIR) / "works"
    if directory not in _stores:
        _stores[directory] = WorkStore(directory)
    return _stores[directory]
