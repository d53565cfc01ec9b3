"""The landmark index on disk: sorted hash arrays, memory-mapped, swapped atomically.

Layout under the index directory:
    CURRENT                  name of the live generation
    gen-000007/hashes.npy    uint32, sorted
    gen-000007/refs.npy      uint32 reference id of each posting
    gen-000007/frames.npy    uint32 anchor frame of each posting in its reference
    gen-000007/pitches.npy   uint16 anchor pitch, 1/PITCH_STORE_STEPS semitones above LOG_FMIN_HZ
    gen-000007/manifest.json format version, engine version and parameters, counts, checksums
    .lock                    serialises writers across processes

Every write builds a new generation beside the live one and then replaces CURRENT with one
rename, so a reader sees the old index or the new one, never half of either, and a failed write
leaves the index as it was. Readers load a generation once and keep it while CURRENT is unchanged.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from catalog.checksums import sha256_file
from fingerprint import file_lock, params
from fingerprint.landmarks import Landmarks
from fingerprint.matching import Postings

_ARRAYS = ("hashes", "refs", "frames", "pitches")
_DTYPES = {"hashes": np.uint32, "refs": np.uint32, "frames": np.uint32, "pitches": np.uint16}
_KEEP_GENERATIONS = 2  # the live one and the one before it, which a reader may still be using


class IndexMismatchError(RuntimeError):
    """The index on disk was built by another format, engine or parameter set: rebuild it."""


def engine_signature() -> dict[str, object]:
    """What must match between an index and the code reading it."""
    return {
        "format_version": params.INDEX_FORMAT_VERSION,
        "engine_version": params.ENGINE_VERSION,
        "sample_rate": params.ANALYSIS_SAMPLE_RATE,
        "n_fft": params.N_FFT,
        "hop": params.HOP,
        "log_fmin_hz": params.LOG_FMIN_HZ,
        "log_fmax_hz": params.LOG_FMAX_HZ,
        "bands_per_semitone": params.BANDS_PER_SEMITONE,
        "peaks_per_second": params.PEAKS_PER_SECOND,
        "triplet_targets": params.TRIPLET_TARGETS,
        "target_max_dt": params.TARGET_MAX_DT,
        "hash_df_step_st": params.HASH_DF_STEP_ST,
        "hash_ratio_levels": params.HASH_RATIO_LEVELS,
        "hash_pitch_band_st": params.HASH_PITCH_BAND_ST,
        "hash_log_span_step": params.HASH_LOG_SPAN_STEP,
        "pitch_store_steps": params.PITCH_STORE_STEPS,
    }


@dataclass(frozen=True)
class Generation:
    """One immutable, loaded index generation."""

    name: str
    arrays: dict[str, np.ndarray]
    ref_counts: dict[int, int]

    @classmethod
    def empty(cls) -> Generation:
        return cls("", {key: np.zeros(0, dtype) for key, dtype in _DTYPES.items()}, {})

    @property
    def hashes(self) -> np.ndarray:
        return self.arrays["hashes"]

    @property
    def refs(self) -> np.ndarray:
        return self.arrays["refs"]


class LandmarkStore:
    """Add, remove and look up reference landmarks in an on-disk index directory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._loaded: Generation | None = None

    # --- reading ---------------------------------------------------------------------------------
    def _current_name(self) -> str:
        try:
            return (self.directory / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return ""

    def generation(self) -> Generation:
        """The live generation, loaded (memory-mapped) once and reused until CURRENT changes."""
        name = self._current_name()
        if self._loaded is not None and self._loaded.name == name:
            return self._loaded
        self._loaded = self._load(name) if name else Generation.empty()
        return self._loaded

    def _load(self, name: str) -> Generation:
        folder = self.directory / name
        manifest = json.loads((folder / "manifest.json").read_text())
        expected = engine_signature()
        if manifest.get("signature") != expected:
            raise IndexMismatchError(
                f"The landmark index in {self.directory} was built with {manifest.get('signature')}, "
                f"but this code expects {expected}. Rebuild it: python manage.py build_index"
            )
        arrays = {}
        for key in _ARRAYS:
            path = folder / f"{key}.npy"
            if sha256_file(path) != manifest["checksums"][key]:
                raise IndexMismatchError(f"{path} does not match its checksum: the index is damaged; rebuild it.")
            arrays[key] = np.load(path, mmap_mode="r")
        ref_counts = {int(k): int(v) for k, v in manifest["ref_counts"].items()}
        return Generation(name, arrays, ref_counts)

    def ref_ids(self) -> set[int]:
        """Reference ids currently indexed."""
        return set(self.generation().ref_counts)

    def __len__(self) -> int:
        return len(self.generation().hashes)

    def lookup(self, hashes: np.ndarray, only_refs: np.ndarray | None = None) -> Postings:
        """Every posting for each query hash, skipping hashes too common to discriminate; with
        `only_refs`, only the postings of those references.

        A wide search gathers millions of postings, and identify runs a query per CPU at once: query
        indexes and reference ids are kept as the index stores them (32 bits), not widened, and the
        positions are built in place, so a posting costs 14 bytes here and at most 24 while gathering.
        With `only_refs` the postings are gathered _LOOKUP_BLOCK at a time and filtered as they come,
        so memory follows the postings kept, not those found; without, a lookup over
        params.MAX_POSTINGS_PER_LOOKUP drops its commonest hashes (_within_budget)."""
        gen = self.generation()
        # Binary searches for the distinct hashes in ascending order walk the index's pages in order
        # (5-6 x faster than in query order on a 3 M-posting index); the postings stay in query order.
        distinct, of_hash = np.unique(hashes, return_inverse=True)
        lo = np.searchsorted(gen.hashes, distinct, side="left")[of_hash]
        hi = np.searchsorted(gen.hashes, distinct, side="right")[of_hash]
        counts = hi - lo
        counts[counts > params.MAX_POSTINGS_PER_HASH] = 0
        if only_refs is None:
            _within_budget(counts, params.MAX_POSTINGS_PER_LOOKUP)
            query_index, positions = _positions(lo, counts, 0, len(hashes))
        else:
            wanted = np.asarray(only_refs, dtype=gen.refs.dtype)
            ends = np.cumsum(counts)
            cuts = np.searchsorted(ends, np.arange(_LOOKUP_BLOCK, int(ends[-1]) if len(ends) else 0, _LOOKUP_BLOCK))
            parts = []
            for first, last in itertools.pairwise([0, *cuts.tolist(), len(hashes)]):
                block_index, block_positions = _positions(lo, counts, first, last)
                keep = np.isin(gen.refs[block_positions], wanted)
                parts.append((block_index[keep], block_positions[keep]))
            query_index = np.concatenate([i for i, _ in parts] + [np.zeros(0, np.int32)])
            positions = np.concatenate([p for _, p in parts] + [np.zeros(0, np.int64)])
        return Postings(
            query_index,
            np.asarray(gen.refs[positions]),
            np.asarray(gen.arrays["frames"][positions]),
            np.asarray(gen.arrays["pitches"][positions]),
        )

    # --- writing ---------------------------------------------------------------------------------
    def _write_lock(self) -> contextlib.AbstractContextManager[None]:
        return file_lock.exclusive(self.directory)

    def add(self, ref_id: int, marks: Landmarks) -> None:
        """Index (or re-index) one reference's landmarks; its earlier postings are replaced."""
        self.add_many([(ref_id, marks)])

    def add_many(self, items: Iterable[tuple[int, Landmarks]]) -> None:
        """Index (or re-index) several references in one new generation (one rewrite, not one each)."""
        new = {ref_id: marks for ref_id, marks in items}
        if not new:
            return
        with self._write_lock():
            gen = self.generation()
            keep = ~np.isin(gen.refs, np.fromiter(new, dtype=np.int64))
            parts = [{key: gen.arrays[key][keep] for key in _ARRAYS}]
            parts.extend(_columns(ref_id, marks) for ref_id, marks in new.items())
            self._publish(parts)

    def remove(self, ref_id: int) -> None:
        """Drop one reference's postings (no-op if it is not indexed)."""
        with self._write_lock():
            gen = self.generation()
            if ref_id not in gen.ref_counts:
                return
            keep = gen.refs != ref_id
            self._publish([{key: gen.arrays[key][keep] for key in _ARRAYS}])

    def rebuild(self, items: Iterable[tuple[int, Landmarks]]) -> None:
        """Replace the whole index with `items` (ref id, landmarks), swapped in atomically."""
        parts = [_columns(ref_id, marks) for ref_id, marks in items]
        with self._write_lock():
            self._publish(parts)

    def _publish(self, parts: list[dict[str, np.ndarray]]) -> None:
        columns = {key: np.concatenate([np.zeros(0, _DTYPES[key])] + [p[key] for p in parts]) for key in _ARRAYS}
        order = np.argsort(columns["hashes"], kind="stable")
        arrays = {key: column[order] for key, column in columns.items()}
        current = self._current_name()
        number = int(current.removeprefix("gen-")) + 1 if current else 1
        name = f"gen-{number:06d}"
        folder = self.directory / name
        tmp = self.directory / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            checksums = {}
            for key, array in arrays.items():
                np.save(tmp / f"{key}.npy", np.ascontiguousarray(array))
                checksums[key] = sha256_file(tmp / f"{key}.npy")
            ref_ids, counts = np.unique(arrays["refs"], return_counts=True)
            manifest = {
                "signature": engine_signature(),
                "postings": len(order),
                "checksums": checksums,
                "ref_counts": {str(int(r)): int(c) for r, c in zip(ref_ids, counts, strict=True)},
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
            os.replace(tmp, folder)
            pointer = self.directory / ".CURRENT.tmp"
            pointer.write_text(name)
            os.replace(pointer, self.directory / "CURRENT")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._prune(keep_from=number - _KEEP_GENERATIONS + 1)

    def _prune(self, keep_from: int) -> None:
        for folder in self.directory.glob("gen-*"):
            if int(folder.name.removeprefix("gen-")) < keep_from:
                shutil.rmtree(folder, ignore_errors=True)


def _columns(ref_id: int, marks: Landmarks) -> dict[str, np.ndarray]:
    """One reference's landmarks as index columns."""
    return {
        "hashes": marks.hashes.astype(np.uint32, copy=False),
        "refs": np.full(len(marks), ref_id, np.uint32),
        "frames": marks.frames.astype(np.uint32, copy=False),
        "pitches": marks.pitches.astype(np.uint16, copy=False),
    }


# Postings gathered at once by a lookup restricted to some references (LandmarkStore.lookup).
_LOOKUP_BLOCK = 1 << 20


def _within_budget(counts: np.ndarray, budget: int) -> None:
    """Zero, in place, the posting counts of the commonest query hashes until the rest total at most
    `budget`: every hash with the same count is kept or dropped with the others."""
    if int(counts.sum()) <= budget:
        return
    values, hashes_with = np.unique(counts, return_counts=True)
    fits = values[np.cumsum(values * hashes_with) <= budget]
    counts[counts > (fits.max() if len(fits) else 0)] = 0


def _positions(lo: np.ndarray, counts: np.ndarray, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """(query hash index, index position) of every posting of query hashes first..last-1, in query
    order: positions lo[i] .. lo[i] + counts[i] - 1 for each hash i, laid end to end."""
    counts = counts[first:last]
    total = int(counts.sum())
    query_index = np.repeat(np.arange(first, last, dtype=np.int32), counts)
    positions = np.arange(total, dtype=np.int64)
    positions += np.repeat(lo[first:last] - np.cumsum(counts) + counts, counts)
    return query_index, positions
