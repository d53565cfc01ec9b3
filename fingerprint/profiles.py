"""Recording profiles: one vector per catalogue recording, to find recordings that sound alike.

A recording's profile is the mean of its reference assets' segment embeddings (each scaled to unit
length), scaled back to unit length. Where the segment index (fingerprint.index, "vectors") finds
where a piece of audio comes from, profiles compare whole recordings: the cosine between two
profiles ranks recordings by overall likeness (a near-duplicate scores near 1).

On disk, under FINGERPRINT_INDEX_DIR/profiles:
    index/                      a VectorIndex with one vector per recording, ref id = recording id:
                                the neighbour search (faiss, through fingerprint.index)
    table-<model version>.npy   the same vectors with their recording ids, a structured array read
                                memory-mapped: where a recording's own profile is looked up to ask
                                for its neighbours (a VectorIndex only searches)
    .lock                       serialises writers across processes
Registration keeps both up to date (`refresh`); `rebuild_index` rewrites both (`rebuild`), which also
repairs any drift a crash between the two writes could leave.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings

from catalog.models import AudioAsset
from fingerprint import audio, file_lock, params
from fingerprint.index import VectorIndex, VectorIndexMismatchError

if TYPE_CHECKING:
    from fingerprint.embedding import Embedder

logger = logging.getLogger(__name__)

_QUERY_CHUNK = 2000  # recording ids per database query (SQLite limits bound parameters)
_stores: dict[tuple[Path, str], ProfileStore] = {}


class ProfilesUnavailableError(RuntimeError):
    """The profile index cannot be read (built by another model or format, or damaged)."""


def profile(segment_vectors: Iterable[np.ndarray]) -> np.ndarray | None:
    """The profile of a recording from its assets' segment embeddings, each (n_i, dim): the mean of the
    segments scaled to unit length, scaled to unit length; float32 (dim,). None without segments (or
    when they cancel out exactly)."""
    parts = [np.asarray(v, dtype=np.float64).reshape(len(v), -1) for v in segment_vectors if len(v)]
    if not parts:
        return None
    segments = np.concatenate(parts)
    norms = np.linalg.norm(segments, axis=1, keepdims=True)
    mean = (segments / np.where(norms > 0, norms, 1.0)).mean(axis=0)
    length = float(np.linalg.norm(mean))
    return (mean / length).astype(np.float32) if length > 0 else None


class ProfileStore:
    """The profile index and table of one embedding model version (see the module docstring)."""

    def __init__(self, directory: str | Path, dim: int, model_version: str) -> None:
        self.directory = Path(directory)
        self.dim = int(dim)
        self.model_version = str(model_version)
        self.index = VectorIndex(self.directory / "index", self.dim, self.model_version)
        self.table_path = self.directory / f"table-{self.model_version}.npy"
        self._dtype = np.dtype([("id", "<i8"), ("vector", "<f4", (self.dim,))])
        self._table: np.ndarray | None = None
        self._table_stamp: tuple[int, int, int] | None = None

    # --- reading ---------------------------------------------------------------------------------
    def table(self) -> np.ndarray:
        """Every profile, sorted by recording id (memory-mapped; re-read when the file changes)."""
        try:
            stat = self.table_path.stat()
        except FileNotFoundError:
            return np.zeros(0, self._dtype)
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._table is None or stamp != self._table_stamp:
            table = np.load(self.table_path, mmap_mode="r")
            if table.dtype != self._dtype:
                raise ProfilesUnavailableError(
                    f"{self.table_path} holds {table.dtype}, not {self.dim}-value profiles: "
                    "rebuild it with python manage.py build_index"
                )
            self._table, self._table_stamp = table, stamp
        return self._table

    def vector(self, recording_id: int) -> np.ndarray | None:
        """The recording's profile, or None when it has none (no reference audio registered)."""
        table = self.table()
        ids = table["id"]
        position = int(np.searchsorted(ids, recording_id))
        if position < len(ids) and int(ids[position]) == recording_id:
            return np.array(table["vector"][position], dtype=np.float32)
        return None

    def __len__(self) -> int:
        return len(self.table())

    def neighbours(self, recording_id: int, k: int) -> list[tuple[int, float]] | None:
        """Up to k other recordings nearest to this one's profile, best first, as (recording id, cosine);
        None when the recording has no profile."""
        query = self.vector(recording_id)
        if query is None:
            return None
        try:
            found = self.index.search(query[None, :], k + 1)  # + 1: the recording finds itself
        except VectorIndexMismatchError as exc:
            raise ProfilesUnavailableError(str(exc)) from exc
        pairs = zip(found.ref_ids[0].tolist(), found.scores[0].tolist(), strict=True)
        return [(ref, score) for ref, score in pairs if ref >= 0 and ref != recording_id][:k]

    # --- writing ---------------------------------------------------------------------------------
    def _write_lock(self) -> contextlib.AbstractContextManager[None]:
        return file_lock.exclusive(self.directory)

    def update(self, changes: Mapping[int, np.ndarray | None]) -> None:
        """Set these recordings' profiles (None: the recording has none any more)."""
        if not changes:
            return
        with self._write_lock():
            current = np.array(self.table())  # a copy: the file is about to be replaced
            kept = current[~np.isin(current["id"], np.fromiter(changes, np.int64))]
            new = {rid: v for rid, v in changes.items() if v is not None}
            existing = set(current["id"].tolist())
            gone = [rid for rid, v in changes.items() if v is None and rid in existing]
            table = np.concatenate([kept, self._rows(new)])
            tmp = self._write_table(np.sort(table, order="id"))
            try:
                if new:
                    self.index.add_many((rid, v[None, :], np.zeros(1, np.float32)) for rid, v in new.items())
                if gone:
                    self.index.remove_many(gone)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            os.replace(tmp, self.table_path)

    def replace(self, profiles: Mapping[int, np.ndarray]) -> None:
        """Replace every profile with these (the index is built afresh)."""
        with self._write_lock():
            tmp = self._write_table(np.sort(self._rows(profiles), order="id"))
            try:
                self.index.rebuild((rid, v[None, :], np.zeros(1, np.float32)) for rid, v in sorted(profiles.items()))
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            os.replace(tmp, self.table_path)

    def _rows(self, profiles: Mapping[int, np.ndarray]) -> np.ndarray:
        rows = np.zeros(len(profiles), self._dtype)
        if profiles:
            rows["id"] = np.fromiter(profiles.keys(), np.int64, len(profiles))
            rows["vector"] = np.stack([np.asarray(v, np.float32).reshape(self.dim) for v in profiles.values()])
        return rows

    def _write_table(self, table: np.ndarray) -> Path:
        """The table written and flushed to a temporary file beside the live one (replaced by the caller)."""
        tmp = self.directory / f".{self.table_path.name}.tmp"
        with tmp.open("wb") as fh:
            np.save(fh, table)
            fh.flush()
            os.fsync(fh.fileno())
        return tmp


def store(model: Embedder) -> ProfileStore:
    """The process's profile store for the configured index directory and this embedder's model."""
    key = (Path(settings.FINGERPRINT_INDEX_DIR) / "profiles", model.model_version)
    if key not in _stores:
        _stores[key] = ProfileStore(key[0], params.EMBEDDING_DIM, model.model_version)
    return _stores[key]


def _embed_file(model: Embedder, asset: AudioAsset) -> np.ndarray | None:
    """Segment embeddings of a stored reference file; None (logged) when the file cannot be read."""
    try:
        decoded = audio.decode(
            Path(asset.file.path), max_bytes=settings.AUDIO_MAX_BYTES, max_duration_s=settings.AUDIO_MAX_DURATION_S
        )
    except (OSError, audio.AudioError):
        # One unreadable old file must not stop a new reference of the same recording from registering.
        logger.warning("Reference asset %s cannot be read; its recording's profile leaves it out", asset.pk)
        return None
    return model.embed_audio(decoded.samples)[0]


def refresh(model: Embedder, recording_ids: Iterable[int], known: Mapping[int, np.ndarray]) -> None:
    """Recompute these recordings' profiles from their reference assets in the database: the segment
    vectors of an asset come from `known` (asset id -> vectors, just computed) or from its file."""
    ids = sorted(set(recording_ids))
    segments: dict[int, list[np.ndarray]] = {rid: [] for rid in ids}
    for start in range(0, len(ids), _QUERY_CHUNK):
        assets = AudioAsset.objects.filter(
            kind=AudioAsset.Kind.REFERENCE, recording_id__in=ids[start : start + _QUERY_CHUNK]
        ).order_by("pk")
        for asset in assets:
            vectors = known[asset.pk] if asset.pk in known else _embed_file(model, asset)
            if vectors is not None:
                segments[asset.recording_id].append(vectors)  # type: ignore[index]
    store(model).update({rid: profile(parts) for rid, parts in segments.items()})


def restore(model: Embedder, recording_ids: Iterable[int]) -> None:
    """After a failed registration: profiles back to what the database holds. Best effort, logged: it
    runs while another error is on its way up, which it must not hide."""
    try:
        refresh(model, recording_ids, {})
    except Exception:
        logger.exception("Could not restore recording profiles; run python manage.py build_index")


def rebuild(model: Embedder, items: Iterable[tuple[int | None, np.ndarray]]) -> None:
    """Replace every profile from (recording id, segment vectors) per reference asset; assets that
    belong to no recording are left out."""
    segments: dict[int, list[np.ndarray]] = {}
    for recording_id, vectors in items:
        if recording_id is not None:
            segments.setdefault(recording_id, []).append(vectors)
    profiles = {rid: profile(parts) for rid, parts in segments.items()}
    store(model).replace({rid: v for rid, v in profiles.items() if v is not None})
