"""Scale benchmark: the vector index and the landmark store at catalogue sizes, on synthetic data.

For each size n it builds a VectorIndex of n clustered unit vectors and a LandmarkStore of n hash
postings in a temporary folder, then prints build time, memory, bytes on disk, search latency and
(for the approximate vector layouts) recall@k against exact search. The synthetic hashes are drawn
uniformly from the engine's hash values (landmarks.HASH_SPACE), so a query gathers the postings a
catalogue of that size would give it at best (real music uses the values unevenly, which is worse);
`--engines` builds one index only.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fingerprint import params
from fingerprint.index import VectorIndex, faiss_threads
from fingerprint.landmark_store import LandmarkStore
from fingerprint.landmarks import HASH_SPACE, Landmarks

SEGMENTS_PER_REF = 480  # vectors per synthetic reference: a 4 min recording at 2 segments/s
REFS_PER_CHUNK = 128  # references generated (and compared against the recall queries) at once
GENRES = 256  # top-level clusters: references of one "genre" share a direction
REF_SPREAD = 0.6  # norm of a reference's offset from its genre centre (before normalising)
SEGMENT_SPREAD = 1.0  # norm of a segment's offset from its reference centre
QUERY_NOISE = 0.6  # norm of the noise that turns an indexed segment into a query
GT_BLOCK = 4096  # database vectors per exact-search block (1000 queries x 4096 x 4 B = 16 MB)
RECALL_QUERIES = 1000
# Hashes a 10 s query looks up over the covered pitch range: 10,200-12,800 on the public suite's 10 s
# queries (landmarks.expand_query with params.COVERED).
QUERY_HASHES = 11_000
# Postings per second of reference audio in the public corpus's landmark index (3.14 M for 6.39 h).
MEASURED_HASHES_PER_S = 136


def _rss_mb() -> float:
    """Resident memory now (MB), from /proc/self/status (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (MB): VmHWM, else ru_maxrss."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


class TopK:
    """Running exact top-k (inner product) of a fixed query set over database blocks."""

    def __init__(self, queries: np.ndarray, k: int) -> None:
        self.queries, self.k = queries, k
        self.scores = np.full((len(queries), k), -np.inf, np.float32)
        self.ids = np.full((len(queries), k), -1, np.int64)

    def update(self, block: np.ndarray, ids: np.ndarray) -> None:
        sims = self.queries @ block.T
        if self.ids[0, 0] < 0 and sims.shape[1] >= self.k:  # first block: partial sort, no candidate lists
            top = np.argpartition(-sims, self.k - 1, axis=1)[:, : self.k]
            top_scores = np.take_along_axis(sims, top, 1)
            order = np.argsort(-top_scores, axis=1)
            self.scores, self.ids = np.take_along_axis(top_scores, order, 1), ids[np.take_along_axis(top, order, 1)]
            return
        rows, cols = np.nonzero(sims > self.scores[:, -1:])  # only what beats the current k-th
        if not len(rows):
            return
        nq = len(self.queries)
        all_rows = np.concatenate([np.repeat(np.arange(nq), self.k), rows])
        all_scores = np.concatenate([self.scores.ravel(), sims[rows, cols]])
        all_ids = np.concatenate([self.ids.ravel(), ids[cols]])
        order = np.lexsort((-all_scores, all_rows))
        all_rows, all_scores, all_ids = all_rows[order], all_scores[order], all_ids[order]
        rank = np.arange(len(all_rows)) - np.searchsorted(all_rows, np.arange(nq))[all_rows]
        keep = rank < self.k
        self.scores = all_scores[keep].reshape(nq, self.k)
        self.ids = all_ids[keep].reshape(nq, self.k)


@dataclass
class Synthetic:
    """Clustered unit vectors by reference (genre -> reference -> segment), generated in chunks;
    queries are noisy copies of segments of the first chunk, and exact top-k is kept as it goes."""

    n: int
    dim: int
    k: int
    seed: int = 7
    queries: np.ndarray = field(init=False)
    sources: np.ndarray = field(init=False)
    exact: TopK | None = field(init=False, default=None)
    seconds: float = field(init=False, default=0.0)  # time spent generating and in exact search

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.genres = _unit(self.rng.standard_normal((GENRES, self.dim)))

    def _chunk(self, first_ref: int, n_vectors: int) -> tuple[np.ndarray, np.ndarray]:
        refs = -(-n_vectors // SEGMENTS_PER_REF)
        centres = self.genres[self.rng.integers(0, GENRES, refs)]
        centres = _unit(centres + self.rng.standard_normal(centres.shape) * (REF_SPREAD / math.sqrt(self.dim)))
        noise = self.rng.standard_normal((refs * SEGMENTS_PER_REF, self.dim), dtype=np.float32)
        vectors = _unit(np.repeat(centres, SEGMENTS_PER_REF, axis=0) + noise * (SEGMENT_SPREAD / math.sqrt(self.dim)))
        ref_ids = np.repeat(np.arange(first_ref, first_ref + refs), SEGMENTS_PER_REF)
        return vectors[:n_vectors], ref_ids[:n_vectors]

    def items(self, with_exact: bool) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(ref_id, vectors, times_s) for n vectors; the first chunk also seeds the queries."""
        made, first_ref, hop = 0, 1, params.EMBED_HOP_S
        while made < self.n:
            started = time.perf_counter()
            vectors, ref_ids = self._chunk(first_ref, min(REFS_PER_CHUNK * SEGMENTS_PER_REF, self.n - made))
            segments = np.arange(len(vectors)) % SEGMENTS_PER_REF
            keys = (ref_ids.astype(np.int64) << params.VECTOR_ID_SEGMENT_BITS) | segments
            if made == 0:
                rows = self.rng.choice(len(vectors), min(RECALL_QUERIES, len(vectors)), replace=False)
                self.sources, picked = keys[rows], vectors[rows]
                noise = self.rng.standard_normal(picked.shape).astype(np.float32)
                self.queries = _unit(picked + noise * (QUERY_NOISE / math.sqrt(self.dim)))
                self.exact = TopK(self.queries, self.k) if with_exact else None
            if self.exact is not None:
                for start in range(0, len(vectors), GT_BLOCK):
                    self.exact.update(vectors[start : start + GT_BLOCK], keys[start : start + GT_BLOCK])
            self.seconds += time.perf_counter() - started
            for start in range(0, len(vectors), SEGMENTS_PER_REF):  # each reference is one run of rows
                rows = slice(start, start + SEGMENTS_PER_REF)
                yield int(ref_ids[start]), vectors[rows], segments[rows] * np.float32(hop)
            made += len(vectors)
            first_ref = int(ref_ids[-1]) + 1


def _latencies_ms(search: Any, queries: np.ndarray, batch: int, k: int) -> list[float]:
    """Per-query latency (ms) of searching `queries` in batches of `batch` (one timing per batch)."""
    out = []
    for start in range(0, len(queries), batch):
        part = queries[start : start + batch]
        started = time.perf_counter()
        search(part, k)
        out.append((time.perf_counter() - started) * 1000 / len(part))
    return out


def _build_vectors(job: dict[str, Any], workdir: Path) -> dict[str, Any]:
    n, dim, k = job["n"], job["dim"], job["k"]
    data = Synthetic(n, dim, k)
    writer = VectorIndex(workdir / "vectors", dim, "bench")
    started = time.perf_counter()
    writer.rebuild(data.items(with_exact=n >= params.VECTOR_IVF_MIN_VECTORS), total_vectors=n)
    out = {"build_s": time.perf_counter() - started - data.seconds, "generate_s": data.seconds, **writer.describe()}
    np.save(workdir / "queries.npy", data.queries)
    np.save(workdir / "sources.npy", data.sources)
    if data.exact is not None:
        np.save(workdir / "exact.npy", data.exact.ids)
    return out


def _read_vectors(job: dict[str, Any], workdir: Path) -> dict[str, Any]:
    queries, k = np.load(workdir / "queries.npy"), job["k"]
    index = VectorIndex(workdir / "vectors", job["dim"], "bench")
    started = time.perf_counter()
    index.search(queries[:1], k)  # loads (and checksums) the generation
    out: dict[str, Any] = {"load_s": time.perf_counter() - started}
    timed = queries[: job["n_queries"]]
    index.search(timed, k)  # warm caches
    threads = faiss_threads(1)  # one request on one worker thread: OpenMP adds only synchronisation to it
    out["single"] = _latencies_ms(index.search, timed, 1, k)
    faiss_threads(threads)
    out["batched"] = [x for _ in range(5) for x in _latencies_ms(index.search, timed, len(timed), k)]
    found = index.search(queries, k)
    slots = np.rint(np.nan_to_num(found.times_s) / params.EMBED_HOP_S).astype(np.int64)
    keys = np.where(found.ref_ids >= 0, (found.ref_ids << params.VECTOR_ID_SEGMENT_BITS) | slots, -2)
    if (workdir / "exact.npy").exists() and index.describe()["layout"]["kind"] != "flat":
        exact, sources = np.load(workdir / "exact.npy"), np.load(workdir / "sources.npy")
        out["recall"] = float(np.mean([len(np.intersect1d(keys[i], exact[i])) for i in range(len(keys))])) / k
        out["source"] = float(np.mean([sources[i] in keys[i] for i in range(len(keys))]))
    return out | {"rss_mb": _rss_mb() - job["base_rss_mb"]}  # while the index is still loaded


def _build_landmarks(job: dict[str, Any], workdir: Path) -> dict[str, Any]:
    n, rng = job["n"], np.random.default_rng(11)
    per_ref = 240 * 240  # postings of a 4 min reference at ~240 hashes/s (only the count matters here)

    def items() -> Iterator[tuple[int, Landmarks]]:
        for ref in range(-(-n // per_ref)):
            count = min(per_ref, n - ref * per_ref)
            frames = np.sort(rng.integers(0, 10_400, count)).astype(np.uint32)
            # Uniform over the engine's hash values: the best case, since real music uses them unevenly.
            hashes = rng.integers(0, HASH_SPACE, count, dtype=np.uint32)
            yield ref + 1, Landmarks(hashes, frames, rng.integers(0, 2**16, count, np.uint16), 10_400)

    folder = workdir / "landmarks"
    started = time.perf_counter()
    LandmarkStore(folder).rebuild(items())
    out = {"build_s": time.perf_counter() - started}
    live = folder / (folder / "CURRENT").read_text().strip()
    return out | {"bytes_on_disk": sum(f.stat().st_size for f in live.iterdir())}


def _read_landmarks(job: dict[str, Any], workdir: Path) -> dict[str, Any]:
    store = LandmarkStore(workdir / "landmarks")
    started = time.perf_counter()
    store.generation()
    out: dict[str, Any] = {"load_s": time.perf_counter() - started}
    rng = np.random.default_rng(12)  # not the build's seed: its stream would repeat the stored hashes
    lookups, gathered = [], []
    for _ in range(job["n_queries"]):
        hashes = rng.integers(0, HASH_SPACE, job["query_hashes"], dtype=np.uint32)
        started = time.perf_counter()
        postings = store.lookup(hashes)
        lookups.append((time.perf_counter() - started) * 1000)
        gathered.append(len(postings.refs))
    return out | {"lookup": lookups, "postings": gathered, "rss_mb": _rss_mb() - job["base_rss_mb"]}


_WORKERS = {"build_vectors": _build_vectors, "read_vectors": _read_vectors,
            "build_landmarks": _build_landmarks, "read_landmarks": _read_landmarks}  # fmt: skip


def worker_main(argv: list[str]) -> None:
    """One step in a fresh interpreter, so its memory is that step's alone: prints one JSON line
    with the step's results and its peak resident memory above the interpreter's own."""
    job = json.loads(argv[0]) | {"base_rss_mb": _rss_mb()}
    out = _WORKERS[job["step"]](job, Path(job["workdir"]))
    print(json.dumps({"peak_rss_mb": _peak_rss_mb() - job["base_rss_mb"]} | out))


def _run_step(step: str, job: dict[str, Any], threads: int) -> dict[str, Any]:
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    code = "import sys; from fingerprint.management.commands.bench_scale import worker_main; worker_main(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(job | {"step": step})],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CommandError(f"{step} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(value: float) -> str:
    return f"{value:,.0f}"


def _ms(values: list[float]) -> str:
    return f"{np.mean(values):.3f} / {np.percentile(values, 95):.3f}"


class Command(BaseCommand):
    help = (
        "Scale benchmark on synthetic data: for each size, a vector index of that many clustered "
        "unit vectors and a landmark store of that many postings; prints build time, memory, disk, "
        "search latency and recall against exact search."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sizes", default="1000000,5000000,20000000", help="comma-separated entry counts")
        parser.add_argument("--dim", type=int, default=params.EMBEDDING_DIM, help="vector dimension")
        parser.add_argument("--queries", type=int, default=200, help="queries timed per size")
        parser.add_argument("--k", type=int, default=10, help="neighbours per query")
        parser.add_argument(
            "--query-hashes",
            type=int,
            default=QUERY_HASHES,
            help="hash lookups per 10 s landmark query (its triplets at every pitch variant searched)",
        )
        parser.add_argument(
            "--engines", default="vectors,landmarks", help="which indexes to build and search (comma-separated)"
        )
        parser.add_argument("--workdir", default=None, help="temp folder parent (default: CONTENTID_DATA_DIR)")
        parser.add_argument("--threads", type=int, default=0, help="OMP threads for the reader (0: faiss default)")
        parser.add_argument("--keep", action="store_true", help="keep the built indexes")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sizes = [int(s.replace("_", "")) for s in options["sizes"].split(",") if s.strip()]
        except ValueError as exc:
            raise CommandError(f"--sizes must be comma-separated integers: {exc}") from exc
        engines = {e.strip() for e in options["engines"].split(",") if e.strip()}
        if not engines or not engines <= {"vectors", "landmarks"}:
            raise CommandError("--engines takes vectors, landmarks or both")
        parent = Path(options["workdir"] or settings.DATA_DIR)
        parent.mkdir(parents=True, exist_ok=True)
        results = []
        for n in sizes:
            workdir = Path(tempfile.mkdtemp(prefix="bench_scale-", dir=parent))
            job = {"n": n, "dim": options["dim"], "k": options["k"], "workdir": str(workdir)}
            job |= {"n_queries": options["queries"], "query_hashes": options["query_hashes"]}
            vec: dict[str, Any] = {}
            lm: dict[str, Any] = {}
            chosen = [engine for engine in ("vectors", "landmarks") if engine in engines]
            steps = [(f"{verb}_{e}", vec if e == "vectors" else lm) for e in chosen for verb in ("build", "read")]
            try:
                for step, result in steps:
                    self.stderr.write(f"size {n:,}: {step.replace('_', ' ')} ...")
                    done = _run_step(step, job, options["threads"])
                    result |= {f"{step}.{key}" if key.endswith("rss_mb") else key: v for key, v in done.items()}
            finally:
                if not options["keep"]:
                    shutil.rmtree(workdir, ignore_errors=True)
            results.append((n, vec, lm))
            self._table(n, vec, lm, options)
        if len(results) > 1:
            (n0, v0, l0), (n1, v1, l1) = results[0], results[-1]
            ratios = []
            if v0:
                ratios += [
                    f"vector batch=1 {np.mean(v1['single']) / np.mean(v0['single']):.2f}x",
                    f"vector batch={options['queries']} {np.mean(v1['batched']) / np.mean(v0['batched']):.2f}x",
                ]
            if l0:
                ratios.append(f"landmark lookup {np.mean(l1['lookup']) / np.mean(l0['lookup']):.2f}x")
                ratios.append(f"postings gathered {np.mean(l1['postings']) / np.mean(l0['postings']):.1f}x")
            self.stdout.write(f"\nLatency ratio, {n1:,} vs {n0:,} entries (mean): " + ", ".join(ratios))

    def _table(self, n: int, vec: dict, lm: dict, options: dict) -> None:
        nq, k = options["queries"], options["k"]
        vectors_per_s = 1 / params.EMBED_HOP_S

        def v(fmt: Any) -> str:
            return fmt(vec) if vec else "-"

        def lmk(fmt: Any) -> str:
            return fmt(lm) if lm else "-"

        def shape(layout: dict) -> str:
            return layout["kind"] + "".join(
                f" {key}={layout[key]}" for key in ("nlist", "nprobe", "pq_m", "pq_bits") if layout[key]
            )

        rows = [
            (
                "layout",
                v(lambda r: shape(r["layout"])),
                lmk(lambda r: f"sorted uint32 hashes (mmap), {HASH_SPACE:,} values"),
            ),
            (
                "audio equivalent (h)",
                f"{n / vectors_per_s / 3600:,.0f} at {vectors_per_s:g} vectors/s (EMBED_HOP_S)",
                f"{n / MEASURED_HASHES_PER_S / 3600:,.1f} at {MEASURED_HASHES_PER_S} hashes/s (public corpus)",
            ),
            ("build (s)", v(lambda r: f"{r['build_s']:.1f}"), lmk(lambda r: f"{r['build_s']:.1f}")),
            ("synthetic data + exact top-k, not in build (s)", v(lambda r: f"{r['generate_s']:.1f}"), "-"),
            (
                "build process: peak RSS (MB)",
                v(lambda r: _mb(r["build_vectors.peak_rss_mb"])),
                lmk(lambda r: _mb(r["build_landmarks.peak_rss_mb"])),
            ),
            (
                "reader process: RSS after searches (MB)",
                v(lambda r: _mb(r["read_vectors.rss_mb"])),
                lmk(lambda r: _mb(r["read_landmarks.rss_mb"]) + " (mmap pages touched)"),
            ),
            (
                "on disk (MB)",
                v(lambda r: _mb(r["bytes_on_disk"] / 2**20)),
                lmk(lambda r: _mb(r["bytes_on_disk"] / 2**20)),
            ),
            ("load + checksum (s)", v(lambda r: f"{r['load_s']:.2f}"), lmk(lambda r: f"{r['load_s']:.2f}")),
            ("latency batch=1 (1 thread), mean / p95 (ms)", v(lambda r: _ms(r["single"])), "-"),
            (f"latency batch={nq}, mean / p95 (ms per query)", v(lambda r: _ms(r["batched"])), "-"),
            (f"10 s query: {options['query_hashes']:,} lookups, mean / p95 (ms)", "-", lmk(lambda r: _ms(r["lookup"]))),
            ("10 s query: postings gathered, mean", "-", lmk(lambda r: f"{np.mean(r['postings']):,.0f}")),
            (
                f"recall@{k} vs exact ({RECALL_QUERIES} queries)",
                v(lambda r: f"{r['recall']:.3f}" if "recall" in r else "exact"),
                lmk(lambda r: "exact"),
            ),
            (f"source segment in top {k}", v(lambda r: f"{r['source']:.3f}" if "source" in r else "-"), "-"),
        ]
        width = max(len(r[0]) for r in rows) + 2
        self.stdout.write(f"\n=== {n:,} entries ===")
        self.stdout.write(f"{'':<{width}}{'vector index':<50}landmark store")
        for label, a, b in rows:
            self.stdout.write(f"{label:<{width}}{a:<50}{b}")
