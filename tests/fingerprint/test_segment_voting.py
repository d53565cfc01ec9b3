"""Segment-embedding votes: dense query patches vote once per reference-hop slot, with their best patch."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

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


def _landmark(ref_id: int, aligned: float, offset_s: float) -> matching.Alignment:
    return matching.Alignment(
        ref_id=ref_id, aligned=aligned, offset_frames=offset_s / params.FRAME_S, tempo=1.0, pitch_shift_st=0.0,
        query_start_frame=0.0, query_end_frame=2.0 / params.FRAME_S,
    )  # fmt: skip


def _segments(ref_id: int, agreeing: int, offset_s: float) -> matching.SegmentAlignment:
    return matching.SegmentAlignment(
        ref_id=ref_id, segments=agreeing, query_segments=agreeing, similarity=0.9 * agreeing, offset_s=offset_s,
        query_start_s=0.0, query_end_s=agreeing * params.EMBED_HOP_S,
    )  # fmt: skip


def test_engines_agreeing_on_the_offset_add_up() -> None:
    (fused,) = matching.fuse([_landmark(1, 20.0, 60.0)], [_segments(1, 18, 60.2)])
    assert fused.aligned == pytest.approx(20.0 + params.EMBED_SEGMENT_WEIGHT * 0.9 * 18)
    assert not fused.embeddings_only


def test_embeddings_of_most_of_the_query_overrule_a_weaker_landmark_alignment_elsewhere() -> None:
    # A pitch-shifted copy in noise: its embeddings agree with the right reference at 190 s for all
    # 18 segments, the landmarks found only one chance triplet on it, at 21 s.
    (fused,) = matching.fuse([_landmark(1, 1.0, 21.0)], [_segments(1, 18, 190.0)])
    assert fused.embeddings_only and fused.offset_s == pytest.approx(190.0)
    assert fused.is_match()

    # Where the landmarks' case is the stronger, it stands and the embeddings add nothing.
    (kept,) = matching.fuse([_landmark(1, 80.0, 21.0)], [_segments(1, 18, 190.0)])
    assert not kept.embeddings_only and kept.aligned == 80.0


def test_embeddings_of_part_of_the_query_do_not_overrule_the_landmarks() -> None:
    # Music much like a registered recording: 55 % of its segments agree with it at 190 s, enough to
    # count, not enough to overrule the landmarks' best with it at 21 s. Neither makes the case.
    in_their_sound = replace(_segments(1, 22, 190.0), query_segments=40)
    assert in_their_sound.is_evidence()
    (fused,) = matching.fuse([_landmark(1, 1.0, 21.0)], [in_their_sound])
    assert not fused.embeddings_only and not fused.is_match()

    # Without a landmark alignment for that reference, the fraction rule alone decides.
    (alone,) = matching.fuse([], [in_their_sound])
    assert alone.embeddings_only
