"""Work (composition) identification: which registered composition a recording performs, in which key
and at which tempo. Pure computation, no Django, no faiss import (the index is passed in).

Two stages, as in cover-song identification systems:
1. candidates: the query's segment vectors, rotated into all 12 keys, search the work vector index
   (`fingerprint.index.VectorIndex`); a work's score in a key is the mean, over the query's
   segments, of its best cosine with that segment (0 where it is not among the hits).
2. re-ranking: the query's chroma sequence is aligned (Qmax, `work_features.qmax`) against each
   candidate's stored sequence in its best keys; the alignment gives the score, the transposition,
   the tempo ratio and the spans.
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
SEGMENTS_PER_QUERY_VECTOR = 64  # nearest indexed segments fetched per (query segment, key)
N_CANDIDATES = 24  # works re-ranked by alignment (the vector stage holds the right one in 24 for ~92 %)
KEYS_PER_CANDIDATE = 1  # best keys from the vector search per candidate (the pitch-profile key is added)
# Decision: score = Qmax / sqrt(query states), then less the median of the other candidates'
# scores (a query that aligns with everything is not evidence for one work). Calibrated on
# unrelated compositions by `manage.py eval_works` (false positives <= 1 %): 2.41 accepts 1.0 % of
# its 300 unrelated MIDI excerpts; a 2-fold split by file gave 2.17 and 2.74, so it is not yet stable.
DECISION_THRESHOLD = 2.41
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
    rotated = np.concatenate([wf.rotate_vectors(query_vectors, -k) for k in range(12)])
    keys = np.repeat(np.arange(12), len(query_vectors))
    result = index.search(rotated, SEGMENTS_PER_QUERY_VECTOR)
    segment_best: dict[tuple[int, int, int], float] = {}  # (ref, key, query row) -> best cosine
    for row, key in enumerate(keys):
        for score, ref in zip(result.scores[row], result.ref_ids[row], strict=True):  # type: ignore[attr-defined]
            if ref >= 0 and score > 0:
                cell = (int(ref), int(key), row % len(query_vectors))
                segment_best[cell] = max(segment_best.get(cell, 0.0), float(score))
    best: dict[int, dict[int, float]] = {}
    for (ref, key, _), score in segment_best.items():
        per_key = best.setdefault(ref, {})
        per_key[key] = per_key.get(key, 0.0) + score / len(query_vectors)
    ranked = sorted(best.items(), key=lambda item: -max(item[1].values()))[:N_CANDIDATES]
    return [
        (ref, max(per_key.values()), sorted(per_key, key=lambda k: -per_key[k])[:KEYS_PER_CANDIDATE])
        for ref, per_key in ranked
    ]


def align(query_sequence: np.ndarray, ref_sequence: np.ndarray, keys: list[int]) -> tuple[wf.Alignment, int]:
    """The best Qmax alignment of the query against the reference moved up by each of `keys` and by
    its optimal transposition index; returns it with its key."""
    tried = list(dict.fromkeys([*keys, int(np.argmax(wf.transposition_scores(query_sequence, ref_sequence)))]))
    best: tuple[wf.Alignment, int] | None = None
    for key in tried:
        alignment = wf.qmax(query_sequence, np.roll(ref_sequence, key, axis=1))
        if best is None or alignment.score > best[0].score:
            best = (alignment, key)
    assert best is not None
    return best


def identify(
    index: SegmentIndex,
    load_sequence: Callable[[int], np.ndarray | None],
    samples: np.ndarray,
    sample_rate: int,
) -> list[WorkMatch]:
    """Every candidate work for mono `samples`, aligned and scored, best first (accepted ones are
    those whose `accepted` is true). `load_sequence(ref_id)` gives a work's stored chroma (uint8)
    or None when it is gone."""
    sequence = wf.chroma(samples, sample_rate)
    vectors, _ = wf.segment_vectors(sequence, wf.QUERY_HOP_S)
    aligned: list[tuple[int, float, wf.Alignment, int]] = []
    for ref_id, vector_score, keys in candidates(index, vectors):
        stored = load_sequence(ref_id)
        if stored is None:
            continue
        alignment, key = align(sequence, wf.dequantise(stored), keys)
        aligned.append((ref_id, vector_score, alignment, key))
    return _scored(aligned, n_states=max(len(sequence) - (wf.EMBED_M - 1) * wf.EMBED_TAU, 1))


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
