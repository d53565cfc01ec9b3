"""The vector index on disk: segment embeddings of reference recordings, searched with faiss.

The only module that imports faiss. Vectors are L2-normalised float32 and compared by inner
product, so scores are cosine similarities in [-1, 1].

Layout under the index directory (its own folder: CURRENT would clash with another store's):
    CURRENT                    name of the live generation
    vec-000007/index.faiss     the faiss index (always the CPU form; faiss.write_index)
    vec-000007/refs.npy        int64, sorted reference ids
    vec-000007/offsets.npy     int64, len(refs) + 1: ref i's segments are times[offsets[i]:offsets[i+1]]
    vec-000007/times.npy       float32, start time (s) of every segment, by reference then segment
    vec-000007/sidecar.json    format version, dim, metric, layout and parameters, model version,
                               counts, sha256 of each file
    .lock                      serialises writers across processes

A faiss id is (ref_id << VECTOR_ID_SEGMENT_BITS) | segment index; see `vector_ids`.

Every write builds a new generation beside the live one, fsyncs it, and then replaces CURRENT
with one rename, so a reader sees the old index or the new one and a crash mid-write leaves the
previous generation live. Readers check CURRENT (one small read) on every call and load a new
generation only when it changed. The layout (exact, IVF-Flat, IVF-SQ8, IVF-PQ) follows the vector
count: `choose_layout`, thresholds and reasons in params.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np
from faiss.contrib.inspect_tools import get_invlist

from catalog.checksums import sha256_file
from fingerprint import file_lock, params

# Exact search (the flat layout, and every IVF's coarse quantizer) takes BLAS from this many query
# vectors x dimensions. faiss 1.15 (pinned) moved it to 128,000 (facebookresearch/faiss#5022), tuned for
# many OpenMP threads; identify runs one thread per query in flight, where BLAS wins from a few query
# vectors (faiss#5109). Measured here at 64 dimensions, 46,000 vectors, one thread: 20 query vectors
# take 10.1 ms on the SIMD path and 2.7 ms on BLAS, 5 take 2.5 and 1.9 ms, 1 takes 0.5 and 1.5 ms.
faiss.cvar.distance_compute_blas_threshold = 4 * params.EMBEDDING_DIM

logger = logging.getLogger(__name__)

FLAT, IVF_FLAT, IVF_SQ8, IVF_PQ = "flat", "ivf_flat", "ivf_sq8", "ivf_pq"
_RANK = {FLAT: 0, IVF_FLAT: 1, IVF_SQ8: 2, IVF_PQ: 3}
_FILES = ("index.faiss", "refs.npy", "offsets.npy", "times.npy")
_REBUILD = "Rebuild it: python manage.py build_index"
_SEG_MASK = (1 << params.VECTOR_ID_SEGMENT_BITS) - 1
_MAX_REF_ID = (1 << (63 - params.VECTOR_ID_SEGMENT_BITS)) - 1

Item = tuple[int, np.ndarray, np.ndarray]  # (ref_id, vectors (n, dim), segment start times (n,) in s)


class VectorIndexMismatchError(RuntimeError):
    """The vector index on disk was built by another format, dimension or model, or is damaged."""


@dataclass(frozen=True)
class Layout:
    """How the vectors are stored: kind, lists (nlist), lists probed (nprobe), PQ codes (m x bits)."""

    kind: str
    nlist: int = 0
    nprobe: int = 0
    pq_m: int = 0
    pq_bits: int = 0


@dataclass(frozen=True)
class SearchResult:
    """k best segments per query. scores: (m, k) float32 cosine (-inf where none); ref_ids: (m, k)
    int64 (-1 where none); times_s: (m, k) float32 segment start in its reference (s; NaN where none)."""

    scores: np.ndarray
    ref_ids: np.ndarray
    times_s: np.ndarray


def _clamp(value: float, low: int, high: int) -> int:
    return int(min(max(round(value), low), high))


def nprobe_for(nlist: int) -> int:
    """Lists probed per query for an IVF of `nlist` lists (params: VECTOR_NPROBE_*)."""
    probe = _clamp(
        params.VECTOR_NPROBE_PER_NLIST_CUBE_ROOT * nlist ** (1 / 3), params.VECTOR_MIN_NPROBE, params.VECTOR_MAX_NPROBE
    )
    return min(probe, nlist)


def choose_layout(n_vectors: int, dim: int = params.EMBEDDING_DIM) -> Layout:
    """The layout for an index of `n_vectors` vectors of `dim` values (thresholds in params.py):
    exact below VECTOR_IVF_MIN_VECTORS, then IVF-Flat, IVF-SQ8 from VECTOR_SQ8_MIN_VECTORS and
    IVF-PQ from VECTOR_PQ_MIN_VECTORS; nlist ~ n, nprobe ~ nlist ** (1/3), m ~ dim / 2."""
    if n_vectors < params.VECTOR_IVF_MIN_VECTORS:
        return Layout(FLAT)
    nlist = _clamp(n_vectors / params.VECTOR_VECTORS_PER_LIST, params.VECTOR_MIN_NLIST, params.VECTOR_MAX_NLIST)
    nlist = max(1, min(nlist, n_vectors // 39))  # k-means needs >= 39 points a centroid
    if n_vectors < params.VECTOR_SQ8_MIN_VECTORS:
        return Layout(IVF_FLAT, nlist, nprobe_for(nlist))
    if n_vectors < params.VECTOR_PQ_MIN_VECTORS:
        return Layout(IVF_SQ8, nlist, nprobe_for(nlist))
    # The largest sub-quantiser count <= dim / VECTOR_PQ_DIMS_PER_CODE that divides dim.
    m = next(m for m in range(max(1, dim // params.VECTOR_PQ_DIMS_PER_CODE), 0, -1) if dim % m == 0)
    # 2**bits centroids need >= 39 training points each; tiny test indexes get fewer bits.
    bits = max(1, min(params.VECTOR_PQ_BITS, int(math.log2(max(2, n_vectors // 39)))))
    return Layout(IVF_PQ, nlist, nprobe_for(nlist), m, bits)


def vector_ids(ref_id: int, n: int) -> np.ndarray:
    """faiss ids of a reference's n segments: ref_id in the high 43 bits, segment index in the low 20."""
    if not 0 <= ref_id <= _MAX_REF_ID:
        raise ValueError(f"ref_id {ref_id} is outside 0..{_MAX_REF_ID}")
    if n > _SEG_MASK + 1:
        raise ValueError(f"{n} segments exceed the {_SEG_MASK + 1} a reference can hold")
    return (np.int64(ref_id) << params.VECTOR_ID_SEGMENT_BITS) | np.arange(n, dtype=np.int64)


def faiss_threads(threads: int | None) -> int:
    """Set faiss' OpenMP thread count (None: leave it) and return the count in effect before."""
    before = faiss.omp_get_max_threads()
    if threads is not None:
        faiss.omp_set_num_threads(threads)
    return before


def gpu_available() -> bool:
    """True when this faiss build has GPU support, a device is visible, and CONTENTID_DEVICE != 'cpu'."""
    if os.environ.get("CONTENTID_DEVICE", "").strip().lower() == "cpu":
        return False
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def _to_gpu(index: faiss.Index, layout: Layout) -> tuple[faiss.Index, object]:
    """A GPU copy of a CPU index (nprobe is copied by the cloner), and what must stay alive with it.
    One device: index_cpu_to_gpu; several: sharded across all, each device holding a part."""
    if faiss.get_num_gpus() == 1:
        resources = faiss.StandardGpuResources()
        options = faiss.GpuClonerOptions()
        options.useFloat16 = layout.kind == IVF_PQ  # fp16 lookup tables: every PQ code size fits
        return faiss.index_cpu_to_gpu(resources, 0, index, options), resources
    options = faiss.GpuMultipleClonerOptions()
    options.shard = True
    options.useFloat16 = layout.kind == IVF_PQ
    return faiss.index_cpu_to_all_gpus(index, options), None


@dataclass
class _Generation:
    """One loaded generation: the CPU index, its side arrays, and (lazily) its search copy."""

    name: str
    index: faiss.Index
    layout: Layout
    trained_on: int  # vectors when the IVF was trained (0: flat)
    refs: np.ndarray
    offsets: np.ndarray
    times: np.ndarray
    _searcher: faiss.Index | None = field(default=None, repr=False)
    _keep_alive: object = field(default=None, repr=False)

    def searcher(self) -> faiss.Index:
        if self._searcher is None:
            self._searcher = self.index
            if gpu_available():
                try:
                    self._searcher, self._keep_alive = _to_gpu(self.index, self.layout)
                except RuntimeError:  # a layout this faiss build cannot put on the GPU: search on CPU
                    logger.exception(
                        "Could not move the %s vector index to the GPU; searching on CPU", self.layout.kind
                    )
        return self._searcher

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


class VectorIndex:
    """Add, remove and search reference segment embeddings in an on-disk index directory."""

    def __init__(self, directory: str | Path, dim: int, model_version: str) -> None:
        self.directory = Path(directory)
        self.dim = int(dim)
        self.model_version = str(model_version)
        self._loaded: _Generation | None = None

    # --- reading ---------------------------------------------------------------------------------
    def _current_name(self) -> str:
        try:
            name = (self.directory / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return ""
        if name and not name.startswith("vec-"):
            raise VectorIndexMismatchError(
                f"{self.directory} holds another kind of index (CURRENT -> {name}); "
                "give the vector index a directory of its own."
            )
        return name

    def _generation(self) -> _Generation:
        """The live generation, loaded once and reused until CURRENT changes."""
        name = self._current_name()
        if self._loaded is None or self._loaded.name != name:
            self._loaded = self._load(name) if name else self._empty()
        return self._loaded

    def _empty(self) -> _Generation:
        no_ints = np.zeros(0, np.int64)
        return _Generation(
            "",
            _new_index(Layout(FLAT), self.dim),
            Layout(FLAT),
            0,
            no_ints,
            np.zeros(1, np.int64),
            np.zeros(0, np.float32),
        )

    def signature(self) -> dict[str, object]:
        """What must match between a generation on disk and the code reading it."""
        return {
            "format_version": params.VECTOR_INDEX_FORMAT_VERSION,
            "dim": self.dim,
            "metric": "inner_product",
            "id_segment_bits": params.VECTOR_ID_SEGMENT_BITS,
            "model_version": self.model_version,
        }

    def _load(self, name: str) -> _Generation:
        folder = self.directory / name
        try:
            sidecar = json.loads((folder / "sidecar.json").read_text())
        except (OSError, ValueError) as exc:
            raise VectorIndexMismatchError(
                f"{folder}/sidecar.json is missing or unreadable ({exc}). {_REBUILD}"
            ) from exc
        found = {key: sidecar.get(key) for key in self.signature()}
        if found != self.signature():
            raise VectorIndexMismatchError(
                f"The vector index in {self.directory} was built with {found}, but this code expects "
                f"{self.signature()}. {_REBUILD}"
            )
        for file in _FILES:
            path = folder / file
            if not path.is_file() or sha256_file(path) != sidecar["checksums"].get(file):
                raise VectorIndexMismatchError(
                    f"{path} is missing or does not match its checksum: the index is damaged. {_REBUILD}"
                )
        index = faiss.read_index(str(folder / "index.faiss"))
        built = sidecar["parameters"]
        layout = Layout(sidecar["layout"], built["nlist"], built["nprobe"], built["pq_m"], built["pq_bits"])
        if layout.nlist:  # nprobe is a search-time setting: take today's formula, no rebuild needed
            layout = Layout(layout.kind, layout.nlist, nprobe_for(layout.nlist), layout.pq_m, layout.pq_bits)
            faiss.extract_index_ivf(index).nprobe = layout.nprobe
        arrays = [np.load(folder / file) for file in _FILES[1:]]
        return _Generation(name, index, layout, int(built["trained_on"]), *arrays)

    def __len__(self) -> int:
        return int(self._generation().index.ntotal)

    def ref_ids(self) -> set[int]:
        """Reference ids currently indexed."""
        return {int(r) for r in self._generation().refs}

    def describe(self) -> dict[str, object]:
        """The live generation's name, layout, vector and reference counts, and bytes on disk."""
        gen = self._generation()
        folder = self.directory / gen.name
        size = sum(f.stat().st_size for f in folder.iterdir()) if gen.name else 0
        return {
            "generation": gen.name,
            "layout": asdict(gen.layout),
            "vectors": int(gen.index.ntotal),
            "references": len(gen.refs),
            "trained_on": gen.trained_on,
            "bytes_on_disk": size,
        }

    def search(self, queries: np.ndarray, k: int) -> SearchResult:
        """The k most similar indexed segments for each of m query vectors (m, dim); see SearchResult."""
        gen = self._generation()
        q = _normalised(queries, self.dim)
        if gen.index.ntotal == 0 or len(q) == 0:
            scores, ids = np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
        else:
            scores, ids = gen.searcher().search(q, k)
        found = ids >= 0
        refs = np.where(found, ids >> params.VECTOR_ID_SEGMENT_BITS, -1)
        times = np.full(ids.shape, np.nan, np.float32)
        if found.any():
            position = np.searchsorted(gen.refs, refs[found])
            times[found] = gen.times[gen.offsets[position] + (ids[found] & _SEG_MASK)]
        return SearchResult(np.where(found, scores, -np.inf).astype(np.float32), refs, times)

    # --- writing ---------------------------------------------------------------------------------
    def _write_lock(self) -> contextlib.AbstractContextManager[None]:
        return file_lock.exclusive(self.directory)

    def add(self, ref_id: int, vectors: np.ndarray, times_s: np.ndarray) -> None:
        """Index (or re-index) one reference's segment vectors (n, dim) starting at times_s (n,) s;
        any vectors it already had are replaced."""
        self.add_many([(ref_id, vectors, times_s)])

    def add_many(self, items: Iterable[Item]) -> None:
        """Index (or re-index) several references in one new generation (one rewrite, not one each)."""
        new = {ref_id: _checked(ref_id, v, t, self.dim) for ref_id, v, t in items}
        if new:
            self._update(new, set())

    def remove(self, ref_id: int) -> None:
        """Drop one reference's vectors (no-op if it is not indexed)."""
        self.remove_many([ref_id])

    def remove_many(self, ref_ids: Iterable[int]) -> None:
        """Drop several references' vectors in one new generation (those not indexed are skipped)."""
        self._update({}, {int(r) for r in ref_ids})

    def _update(self, new: dict[int, tuple[np.ndarray, np.ndarray]], removed: set[int]) -> None:
        with self._write_lock():
            gen = self._generation()
            dropped = np.intersect1d(gen.refs, np.fromiter(set(new) | removed, np.int64))
            if not new and not len(dropped):
                return
            keep = ~np.isin(gen.refs, dropped)
            n_total = int(gen.counts()[keep].sum()) + sum(len(v) for v, _ in new.values())
            layout, trained_on = self._next_layout(gen, n_total)
            if layout is None:  # same layout: edit a copy in place (readers keep the old one)
                index = faiss.clone_index(gen.index)
                if len(dropped):
                    drop_ids = np.concatenate(
                        [vector_ids(int(r), int(c)) for r, c in zip(gen.refs[~keep], gen.counts()[~keep], strict=True)]
                    )
                    index.remove_ids(faiss.IDSelectorBatch(drop_ids))
                for ref_id, (vectors, _) in new.items():
                    index.add_with_ids(vectors, vector_ids(ref_id, len(vectors)))
                layout, trained_on = gen.layout, gen.trained_on
            else:  # the count crossed a threshold (or outgrew its training): re-train from stored codes
                kept = _decoded(gen.index, drop_refs=dropped)
                fresh = [(vector_ids(r, len(v)), v) for r, (v, _) in new.items()]
                index = _build(layout, self.dim, lambda: _chain(kept(), fresh), replay_total=n_total)
                trained_on = n_total
            side = _side_arrays(
                [(int(r), gen.times[gen.offsets[i] : gen.offsets[i + 1]]) for i, r in enumerate(gen.refs) if keep[i]]
                + [(r, t) for r, (_, t) in new.items()]
            )
            self._loaded = self._publish(index, layout, trained_on, *side)

    def _next_layout(self, gen: _Generation, n: int) -> tuple[Layout | None, int]:
        """The layout to re-train into for n vectors, or None to keep the current one."""
        want, current = choose_layout(n, self.dim), gen.layout
        if _RANK[want.kind] > _RANK[current.kind]:
            return want, n
        if _RANK[want.kind] < _RANK[current.kind]:
            lower = choose_layout(int(n * params.VECTOR_LAYOUT_HYSTERESIS), self.dim)
            return (want, n) if _RANK[lower.kind] < _RANK[current.kind] else (None, 0)
        drift = params.VECTOR_RETRAIN_FACTOR
        if current.kind != FLAT and not gen.trained_on / drift <= n <= gen.trained_on * drift:
            return want, n
        return None, 0

    def rebuild(self, items: Iterable[Item], *, total_vectors: int | None = None) -> None:
        """Replace the whole index with `items` (ref_id, vectors, times_s), swapped in atomically.

        With `total_vectors` (a count known in advance) the build streams: the layout is chosen
        from it, training uses a sample of the first items, and only one batch of vectors is held
        besides the index; shuffle items if their order is far from random. Without it the items
        are gathered first."""
        refs_seen: set[int] = set()
        side_items: list[tuple[int, np.ndarray]] = []

        def stream() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for ref_id, vectors, times_s in items:
                if ref_id in refs_seen:
                    raise ValueError(f"reference {ref_id} appears twice in the rebuild")
                vectors, times = _checked(ref_id, vectors, times_s, self.dim)
                refs_seen.add(ref_id)
                side_items.append((ref_id, times))
                yield vector_ids(ref_id, len(vectors)), vectors

        if total_vectors is None:
            parts = list(stream())
            layout = choose_layout(sum(len(ids) for ids, _ in parts), self.dim)
            index = _build(layout, self.dim, lambda: iter(parts), replay_total=sum(len(i) for i, _ in parts))
        else:
            layout = choose_layout(total_vectors, self.dim)
            index = _build(layout, self.dim, stream, replay_total=None)
        with self._write_lock():
            self._loaded = self._publish(index, layout, int(index.ntotal), *_side_arrays(side_items))

    def _publish(
        self,
        index: faiss.Index,
        layout: Layout,
        trained_on: int,
        refs: np.ndarray,
        offsets: np.ndarray,
        times: np.ndarray,
    ) -> _Generation:
        current = self._current_name()
        numbers = [int(p.name.removeprefix("vec-")) for p in self.directory.glob("vec-*")]
        number = max([*numbers, int(current.removeprefix("vec-") or 0)]) + 1  # never reuse a crashed name
        name = f"vec-{number:06d}"
        folder, tmp = self.directory / name, self.directory / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        published = False
        try:
            faiss.write_index(index, str(tmp / "index.faiss"))
            for file, array in zip(_FILES[1:], (refs, offsets, times), strict=True):
                np.save(tmp / file, array)
            sidecar = {
                **self.signature(),
                "layout": layout.kind,
                "parameters": {
                    "nlist": layout.nlist,
                    "nprobe": layout.nprobe,
                    "pq_m": layout.pq_m,
                    "pq_bits": layout.pq_bits,
                    "trained_on": trained_on,  # vectors when the IVF was trained: VECTOR_RETRAIN_FACTOR
                },
                "vectors": int(index.ntotal),
                "references": len(refs),
                "faiss_version": faiss.__version__,
                "checksums": {file: sha256_file(tmp / file) for file in _FILES},
            }
            (tmp / "sidecar.json").write_text(json.dumps(sidecar, indent=1))
            _fsync_tree(tmp)
            os.replace(tmp, folder)
            pointer = self.directory / ".CURRENT.tmp"
            pointer.write_text(name)
            _fsync_tree(pointer)
            os.replace(pointer, self.directory / "CURRENT")
            published = True
            _fsync_tree(self.directory, recurse=False)
        finally:
            if not published:
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.rmtree(folder, ignore_errors=True)
        self._prune(keep={name, current})
        return _Generation(name, index, layout, trained_on, refs, offsets, times)

    def _prune(self, keep: set[str]) -> None:
        """Delete every generation but the live one and the one it replaced (a reader may still be on
        it); numbered neighbours are not kept, since a crash may have left one unpublished."""
        for folder in self.directory.glob("vec-*"):
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)


# --- building ------------------------------------------------------------------------------------
def _new_index(layout: Layout, dim: int) -> faiss.Index:
    if layout.kind == FLAT:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    quantizer = faiss.IndexFlatIP(dim)
    ip = faiss.METRIC_INNER_PRODUCT
    if layout.kind == IVF_FLAT:
        index = faiss.IndexIVFFlat(quantizer, dim, layout.nlist, ip)
    elif layout.kind == IVF_SQ8:
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, layout.nlist, faiss.ScalarQuantizer.QT_8bit, ip)
    else:
        index = faiss.IndexIVFPQ(quantizer, dim, layout.nlist, layout.pq_m, layout.pq_bits, ip)
    index.nprobe = layout.nprobe
    return index


def _build(
    layout: Layout, dim: int, parts: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]], replay_total: int | None
) -> faiss.Index:
    """A new index of `layout` holding every (ids, vectors) part. IVF layouts train first, on a
    random sample: drawn uniformly in a first pass when parts() can be replayed (replay_total: the
    vectors it yields), otherwise from the first parts, buffered until twice the sample is held."""
    index = _new_index(layout, dim)
    if layout.kind == FLAT:
        _add_batched(index, parts())
        return index
    want = max(layout.nlist * params.VECTOR_TRAIN_POINTS_PER_LIST, 1 << layout.pq_bits)
    rng = np.random.default_rng(params.VECTOR_TRAIN_SEED)
    if replay_total is not None:
        rate = min(1.0, want / max(replay_total, 1))
        sample = np.concatenate([v[rng.random(len(v)) < rate] for _, v in parts()] + [np.zeros((0, dim), np.float32)])
        _train(index, layout, sample)
        _add_batched(index, parts())
        return index
    stream, head, held = parts(), [], 0
    for part in stream:
        head.append(part)
        held += len(part[0])
        if held >= 2 * want:
            break
    vectors = np.concatenate([v for _, v in head] + [np.zeros((0, dim), np.float32)])
    if len(vectors) < layout.nlist:
        raise ValueError(f"{len(vectors)} vectors cannot train {layout.nlist} lists: total_vectors was too high")
    _train(index, layout, vectors[rng.permutation(len(vectors))[:want]])
    _add_batched(index, _chain(iter(head), stream))
    return index


def _train(index: faiss.Index, layout: Layout, sample: np.ndarray) -> None:
    """Train an IVF index on `sample`. From VECTOR_TWO_LEVEL_MIN_NLIST lists the coarse centroids are
    trained in two levels first; faiss then sees a full quantizer and trains only the codes."""
    if layout.nlist >= params.VECTOR_TWO_LEVEL_MIN_NLIST and len(sample) >= layout.nlist:
        index.quantizer.add(_normalised(_two_level_centroids(sample, layout.nlist), index.d))
    index.train(sample)


def _two_level_centroids(sample: np.ndarray, nlist: int) -> np.ndarray:
    """nlist spherical k-means centroids of `sample` (at least nlist rows), in two levels: round(sqrt(nlist))
    clusters, each split into centroids in proportion to its size (largest remainders, never more
    centroids than it has points). faiss.contrib's two_level_clustering can round a small cluster's
    share down to no centroid, and faiss.Kmeans fails on k = 0."""
    dim, seed = sample.shape[1], params.VECTOR_TRAIN_SEED
    top = faiss.Kmeans(dim, round(math.sqrt(nlist)), spherical=True, seed=seed, max_points_per_centroid=2000)
    top.train(sample)
    assign = top.index.search(sample, 1)[1].ravel()
    sizes = np.bincount(assign, minlength=top.k)
    share = sizes * nlist / len(sample)
    counts = np.minimum(np.floor(share).astype(np.int64), sizes)
    while counts.sum() < nlist:  # at most sqrt(nlist) rounds: each gives one more centroid
        counts[np.argmax(np.where(counts < sizes, share - counts, -np.inf))] += 1
    parts = []
    for cluster in np.flatnonzero(counts):
        members = np.ascontiguousarray(sample[assign == cluster])
        if counts[cluster] == len(members):
            parts.append(members)
            continue
        sub = faiss.Kmeans(dim, int(counts[cluster]), spherical=True, seed=seed)
        sub.train(members)
        parts.append(sub.centroids)
    return np.concatenate(parts)


def _add_batched(index: faiss.Index, parts: Iterator[tuple[np.ndarray, np.ndarray]]) -> None:
    """Add (ids, vectors) parts, joined into batches of about VECTOR_ADD_BATCH vectors."""
    ids_batch: list[np.ndarray] = []
    vec_batch: list[np.ndarray] = []
    held = 0
    for ids, vectors in _chain(parts, iter([(None, None)])):
        if ids is not None:
            ids_batch.append(ids)
            vec_batch.append(vectors)
            held += len(ids)
        if held and (held >= params.VECTOR_ADD_BATCH or ids is None):
            index.add_with_ids(np.concatenate(vec_batch), np.concatenate(ids_batch))
            ids_batch, vec_batch, held = [], [], 0


def _decoded(index: faiss.Index, drop_refs: np.ndarray) -> Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]:
    """A replayable stream of (ids, vectors) stored in `index`, skipping `drop_refs`: exact for
    flat and IVF-Flat codes, the quantised values for SQ8/PQ (rebuild from the embeddings for the
    best quality after a move between compressed layouts)."""

    def flat() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        all_ids = faiss.vector_to_array(index.id_map)
        for start in range(0, len(all_ids), params.VECTOR_ADD_BATCH):
            ids = all_ids[start : start + params.VECTOR_ADD_BATCH]
            yield ids, index.index.reconstruct_n(start, len(ids))

    def ivf() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        inner = faiss.extract_index_ivf(index)
        coarse = inner.coarse_code_size()
        for list_no in range(inner.nlist):
            ids, codes = get_invlist(inner.invlists, list_no)
            if len(ids):  # sa_decode takes the list number (little-endian) before each code
                prefix = np.frombuffer(int(list_no).to_bytes(coarse, "little"), np.uint8)
                yield ids, inner.sa_decode(np.hstack([np.broadcast_to(prefix, (len(ids), coarse)), codes]))

    source = flat if isinstance(index, faiss.IndexIDMap2) else ivf

    def stream() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for ids, vectors in source():
            keep = ~np.isin(ids >> params.VECTOR_ID_SEGMENT_BITS, drop_refs)
            if keep.any():
                yield ids[keep], np.ascontiguousarray(vectors[keep], np.float32)

    return stream


# --- helpers -------------------------------------------------------------------------------------
def _chain(*streams: Iterable) -> Iterator:
    for stream in streams:
        yield from stream


def _normalised(vectors: np.ndarray, dim: int) -> np.ndarray:
    """A float32 C-contiguous copy of (n, dim) vectors scaled to unit length (zero rows stay zero)."""
    array = np.array(vectors, dtype=np.float32, order="C", ndmin=2)
    if array.ndim != 2 or array.shape[1] != dim:
        raise ValueError(f"expected vectors of shape (n, {dim}), got {np.shape(vectors)}")
    if not np.isfinite(array).all():
        raise ValueError("vectors contain NaN or infinity")
    faiss.normalize_L2(array)
    return array


def _checked(ref_id: int, vectors: np.ndarray, times_s: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    array = _normalised(vectors, dim)
    times = np.asarray(times_s, dtype=np.float32).reshape(-1)
    if len(times) != len(array):
        raise ValueError(f"reference {ref_id}: {len(array)} vectors but {len(times)} segment times")
    vector_ids(int(ref_id), len(array))  # range checks
    return array, times


def _side_arrays(items: list[tuple[int, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(refs sorted, offsets, times) from (ref_id, segment times) pairs, references with no segments left out."""
    items = sorted(((r, t) for r, t in items if len(t)), key=lambda item: item[0])
    refs = np.array([r for r, _ in items], np.int64)
    offsets = np.zeros(len(items) + 1, np.int64)
    np.cumsum([len(t) for _, t in items], out=offsets[1:])
    times = np.concatenate([t for _, t in items] + [np.zeros(0, np.float32)]).astype(np.float32)
    return refs, offsets, times


def _fsync_tree(path: Path, recurse: bool = True) -> None:
    """Flush a file, or a folder and (with recurse) the files in it, to disk before it is published."""
    paths = [*(p for p in path.iterdir() if p.is_file()), path] if path.is_dir() and recurse else [path]
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
