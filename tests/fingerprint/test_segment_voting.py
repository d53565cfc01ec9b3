"""Segment-embedding votes: dense query patches vote once per reference-hop slot, with their best patch."""

from __future__ import annotations

import numpy as np

from fingerprint import matching, params


def _search_results(query_times: np.ndarray, good: set[int], offset_s: float) -> tuple[np.ndarray, ...]:
    """k=2 neighbours per query patch: patches in `good` find reference 7 at `offset_s` (0.95 similar,
    the rest of their slot only 0.8); every patch also finds an unrelated reference 9 at 0.76."""
    m = len(query_times)
    scores = np.empty((m, 2), dtype=np.float32)
    refs = np.empty((m, 2), dtype=np.int64)
    times = np.empty((m, 2))
    for i, t in enumerate(query_times):
        scores[i] = (0.95 if i in good else 0.8, 0.76)
        refs[i] = (7, 9)
        times[i] = (t + offset_s, 100.0 + 37.0 * i)  # reference 9's neighbours agree on no offset
    return scores, refs, times


def test_dense_query_patches_count_once_per_slot_with_their_best_patch() -> None:
    hop = params.EMBED_HOP_S
    query_times = np.round(np.arange(0, 2.0 + 1e-9, 0.1) / 0.0232) * 0.0232  # 3 s query, frame-rounded
    slots = ((query_times + 0.02) // hop).astype(int)
    best_per_slot = {int(np.flatnonzero(slots == slot)[-1]) for slot in np.unique(slots)}  # one patch per slot
    scores, refs, times = _search_results(query_times, best_per_slot, offset_s=42.0)

    found = matching.segment_alignments(query_times, scores, refs, times)

    best = found[0]
    assert best.ref_id == 7
    assert best.query_segments == 5  # 21 patches, five 0.5 s slots: the scale of a reference-hop query
    assert best.segments == 5
    assert abs(best.similarity - 5 * 0.95) < 1e-4  # each slot's best patch, once
    assert abs(best.offset_s - 42.0) < 0.05
    assert best.is_evidence()
    unrelated = next(a for a in found if a.ref_id == 9)
    assert unrelated.segments == 1 and not unrelated.is_evidence()


def test_reference_hop_queries_vote_once_per_patch_as_before() -> None:
    query_times = np.array([0.0, 0.4992, 0.9984, 1.4976, 2.0])  # starts rounded down onto frames
    scores, refs, times = _search_results(query_times, {0, 1, 2, 3, 4}, offset_s=3.0)

    best = matching.segment_alignments(query_times, scores, refs, times)[0]

    assert (best.ref_id, best.segments, best.query_segments) == (7, 5, 5)
    assert abs(best.similarity - 5 * 0.95) < 1e-4
