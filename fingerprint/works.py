"""Work (composition) identification: which registered composition a recording performs, in which key
and at which tempo. Pure computation, no Django, no faiss import (the index is passed in).

Two stages, as in cover-song identification systems:
1. candidates: the query's segment vectors, rotated into all 12 keys, search the work vector index
   (`fingerprint.index.VectorIndex`); a work's score in a key is the mean, over the query's
   segments, of its best cosine with that segment (0 where it is not among the hits).
2. re-ranking: the query's chroma sequence is aligned (Qmax, `work_features.qmax_many`) against each
   candidate's stored sequence in its best keys, all candidates in one pass; the alignment gives the
   score, the transposition, the tempo ratio and the spans.
The decision compares the score with DECISION_THRESHOLD, chosen on queries of compositions that
are not in the catalogue (see `manage.py eval_works`); confidence is a logistic of the margin.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from fingerprint import work_features as wf

ENGINE_VERSION = f"works-1/{wf.FEATURE_VERSION}"
SEGMENTS_PER_QUERY_VECTOR = 256  # nearest indexed segments fetched per (query segment, key): short segments
# recur within a work, so 64 hits were often all from a few repetitive works (first 24 holds the right one
# for 90.6 % of 20 s covers with 64, 91.9 % with 256; 4 s windows, base chroma)
N_CANDIDATES = 24  # works re-ranked by alignment (the vector stage holds the right one in 24 for ~97 %)
KEYS_PER_CANDIDATE = 2  # best keys from the vector search per candidate (the pitch-profile key is added); with
# one pass for all alignments a second key costs little: 20 s top-1 93.2 % -> 94.2 % (eval_works material)
# Decision: score = Qmax / sqrt(query states), then less the median of the other candidates'
# scores (a query that aligns with everything is not evidence for one work). Calibrated on
# unrelated compositions by `manage.py eval_works` (false positives <= 1 %): 2.68 accepts 1.0 % of
# its 300 unrelated MIDI excerpts; a 2-fold split by file gave 2.65 and 2.85, so it is not yet stable.
# (A z-score against the other candidates was no steadier across the folds and identified fewer covers.)
DECISION_THRESHOLD = 2.68
CONFIDENCE_SCALE = 0.5  # score units per e-fold of the odds around the threshold


class SegmentIndex(Protocol):
    """What the work index must offer (fingerprint.index.VectorIndex does)."""

    def search(self, queries: np.ndarray, k: int) -> object: ...


@dataclass(frozen=True)
class ReferenceFeatures:
    """What a registered work keeps: chroma sequence (n, 12) uint8, segment vectors and their starts (s)."""

    sequence: np.ndarray
    vectors: np.ndarray
    times_s: np.ndarray


@dataclass(frozen=True)
class WorkMatch:
    """One candidate work for a query, aligned.

    score: the decision score (see DECISION_THRESHOLD); confidence in [0, 1] (0.5 at the threshold);
    transpose_semitones: the query is the reference moved up by this many semitones (-5..+6);
    tempo_ratio: query tempo / reference tempo; spans in seconds of the query and the reference."""

    ref_id: int
    score: float
    raw_score: float
    confidence: float
    transpose_semitones: int
    tempo_ratio: float
    query_start_s: float
    query_end_s: float
    ref_start_s: float
    ref_end_s: float
    vector_score: float

    @property
    def accepted(self) -> bool:
        return self.score >= DECISION_THRESHOLD


def analyse_reference(samples: np.ndarray, sample_rate: int) -> ReferenceFeatures:
    """The features a work is registered with, from mono `samples` at `sample_rate` Hz."""
    sequence = wf.chroma(samples, sample_rate)
    vectors, times = wf.segment_vectors(sequence, wf.REF_HOP_S)
    return ReferenceFeatures(wf.quantise(sequence), vectors, times)


def candidates(index: SegmentIndex, query_vectors: np.ndarray) -> list[tuple[int, float, list[int]]]:
    """Up to N_CANDIDATES (ref_id, vector score, keys best first) from the vector index, best first:
    the score of a work in a key is the mean over query segments of the work's best cosine with it.
    A key k means the reference moved up k semitones matches the query."""
    if not len(query_vectors):
        return []
    n = len(query_vectors)
    rotated = np.concatenate([wf.rotate_vectors(query_vectors, -k) for k in range(12)])  # row = key * n + segment
    result = index.search(rotated, SEGMENTS_PER_QUERY_VECTOR)
    scores = np.asarray(result.scores, np.float64)  # type: ignore[attr-defined]
    refs = np.asarray(result.ref_ids, np.int64)  # type: ignore[attr-defined]
    hit = (refs >= 0) & (scores > 0)
    rows = np.broadcast_to(np.arange(len(rotated))[:, None], refs.shape)[hit]
    refs, scores = refs[hit], scores[hit]
    # The best cosine per (ref, key, query segment) cell, then per (ref, key) their sum over segments / n.
    cells = refs * (12 * n) + rows
    order = np.lexsort((-scores, cells))
    cells, first = np.unique(cells[order], return_index=True)
    best_cell = scores[order][first]
    pairs, which = np.unique(cells // n, return_inverse=True)  # ref * 12 + key
    per_pair = np.bincount(which, weights=best_cell) / n
    per_ref: dict[int, dict[int, float]] = {}
    for pair, score in zip(pairs.tolist(), per_pair.tolist(), strict=True):
        per_ref.setdefault(pair // 12, {})[pair % 12] = score
    ranked = sorted(per_ref.items(), key=lambda item: -max(item[1].values()))[:N_CANDIDATES]
    return [
        (ref, max(per_key.values()), sorted(per_key, key=lambda k: -per_key[k])[:KEYS_PER_CANDIDATE])
        for ref, per_key in ranked
    ]


def keys_to_try(query_sequence: np.ndarray, ref_sequence: np.ndarray, keys: list[int]) -> list[int]:
    """The transpositions a candidate is aligned in: the vector stage's best `keys` and the optimal
    transposition index of the pitch profiles, without repeats."""
    oti = int(np.argmax(wf.transposition_scores(query_sequence, ref_sequence)))
    return list(dict.fromkeys([*keys, oti]))


def identify(
    index: SegmentIndex,
    load_sequence: Callable[[int], np.ndarray | None],
    samples: np.ndarray,
    sample_rate: int,
) -> list[WorkMatch]:
    """Every candidate work for mono `samples`, aligned and scored, best first (accepted ones are
    those whose `accepted` is true). `load_sequence(ref_id)` gives a work's stored chroma (uint8)
    or None when it is gone."""
    return identify_sequence(index, load_sequence, wf.chroma(samples, sample_rate))


def identify_sequence(
    index: SegmentIndex, load_sequence: Callable[[int], np.ndarray | None], sequence: np.ndarray
) -> list[WorkMatch]:
    """`identify` from the query's chroma sequence (n, 12) float32 (`work_features.chroma`)."""
    vectors, _ = wf.segment_vectors(sequence, wf.QUERY_HOP_S)
    tried: list[tuple[int, float, int]] = []  # (ref id, vector score, key)
    moved: list[np.ndarray] = []  # the reference chroma moved up by the key
    for ref_id, vector_score, keys in candidates(index, vectors):
        stored = load_sequence(ref_id)
        if stored is None:
            continue
        reference = wf.dequantise(stored)
        for key in keys_to_try(sequence, reference, keys):
            tried.append((ref_id, vector_score, key))
            moved.append(np.roll(reference, key, axis=1))
    best: dict[int, tuple[int, float, wf.Alignment, int]] = {}
    for (ref_id, vector_score, key), alignment in zip(tried, wf.qmax_many(sequence, moved), strict=True):
        if ref_id not in best or alignment.score > best[ref_id][2].score:
            best[ref_id] = (ref_id, vector_score, alignment, key)
    return _scored(list(best.values()), n_states=max(len(sequence) - (wf.EMBED_M - 1) * wf.EMBED_TAU, 1))


def _scored(aligned: list[tuple[int, float, wf.Alignment, int]], n_states: int) -> list[WorkMatch]:
    raw = np.array([a.score / math.sqrt(n_states) for _, _, a, _ in aligned])
    matches = []
    for i, (ref_id, vector_score, alignment, key) in enumerate(aligned):
        others = np.delete(raw, i)
        baseline = float(np.median(others)) if len(others) else 0.0
        score = float(raw[i] - baseline)
        matches.append(
            WorkMatch(
                ref_id=ref_id,
                score=round(score, 4),
                raw_score=round(float(raw[i]), 4),
                confidence=round(confidence(score), 4),
                transpose_semitones=wf.signed_semitones(key),
                tempo_ratio=round(alignment.tempo_ratio, 4),
                query_start_s=round(alignment.query_start / wf.FRAME_RATE, 2),
                query_end_s=round(alignment.query_end / wf.FRAME_RATE, 2),
                ref_start_s=round(alignment.ref_start / wf.FRAME_RATE, 2),
                ref_end_s=round(alignment.ref_end / wf.FRAME_RATE, 2),
                vector_score=round(vector_score, 4),
            )
        )
    return sorted(matches, key=lambda m: -m.score)


def confidence(score: float) -> float:
    """A probability-like confidence from the decision score: 0.5 at DECISION_THRESHOLD."""
    return 1.0 / (1.0 + math.exp(-(score - DECISION_THRESHOLD) / CONFIDENCE_SCALE))
